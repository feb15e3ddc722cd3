import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { decodeFrame, encodeFrame, packSymbols } from '../frame/index.js';
import { crc16CcittFalse } from './crc16.js';
import { decodeSegment, encodeSegment, planSegments, segmentFrame } from './segment.js';

/** The ProtocolError code `fn` throws (fails the test if it throws anything else or nothing). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

describe('CRC-16/CCITT-FALSE', () => {
  it('gives the catalogue check value 0x29B1 for "123456789" and 0xFFFF for nothing', () => {
    expect(crc16CcittFalse(new TextEncoder().encode('123456789'))).toBe(0x29b1);
    expect(crc16CcittFalse(new Uint8Array(0))).toBe(0xffff);
  });

  it('over a whole packet, CRC included (big-endian), leaves residue 0', () => {
    for (const p of segmentFrame(bytes(100), { mtu: 30, seq: 9 })) expect(crc16CcittFalse(p)).toBe(0);
  });
});

describe('planSegments', () => {
  it('uses the short form (7 bytes of overhead) while 256 segments suffice, then the wide form (9)', () => {
    expect(planSegments(68, 58)).toEqual({ wide: false, bytesPerSegment: 51, segments: 2, wireBytes: 82 });
    expect(planSegments(256 * 9, 16)).toEqual({ wide: false, bytesPerSegment: 9, segments: 256, wireBytes: 256 * 16 });
    expect(planSegments(256 * 9 + 1, 16)).toEqual({ wide: true, bytesPerSegment: 7, segments: 330, wireBytes: 2305 + 330 * 9 });
    expect(planSegments(0, 16)).toEqual({ wide: false, bytesPerSegment: 9, segments: 1, wireBytes: 7 });
    expect(planSegments(65536 * 7, 16).segments).toBe(65536);
  });

  it('refuses an MTU below 16 or above 4095, a fractional one, and frames needing over 65536 segments', () => {
    expect(codeOf(() => planSegments(10, 15))).toBe('BAD_LENGTH');
    expect(codeOf(() => planSegments(10, 4096))).toBe('BAD_LENGTH');
    expect(codeOf(() => planSegments(10, 16.5))).toBe('BAD_LENGTH');
    expect(codeOf(() => planSegments(10, Number.NaN))).toBe('BAD_LENGTH');
    expect(codeOf(() => planSegments(-1, 16))).toBe('BAD_LENGTH');
    expect(codeOf(() => planSegments(65536 * 7 + 1, 16))).toBe('TOO_LARGE');
  });
});

describe('segmentFrame', () => {
  it('splits a v1 frame into packets of at most the MTU that decode back to its bytes', () => {
    const { payload, scale } = packSymbols(new Float32Array(Array.from({ length: 64 }, (_, i) => Math.sin(i))), 'int8');
    const frame = encodeFrame(
      { dtype: 'int8', scale, totalSymbols: 32, hasKbEntry: false, endOfSession: false, actionId: 1, deviceId: 2, sessionId: 3, frameId: 4, fragmentIndex: 0, fragmentCount: 1, kbVersion: 1, kbEntry: 0, symbolOffset: 0, timestampUs: 0 },
      payload,
    );
    const packets = segmentFrame(frame, { mtu: 58, seq: 513 });
    expect(packets).toHaveLength(3); // 124 bytes, 51 per packet
    expect(packets.map((p) => p.length)).toEqual([58, 58, 29]);
    const segs = packets.map(decodeSegment);
    expect(segs.map((s) => [s.seq, s.index, s.lastIndex, s.wide])).toEqual([[513, 0, 2, false], [513, 1, 2, false], [513, 2, 2, false]]);
    const joined = Uint8Array.from(segs.flatMap((s) => Array.from(s.payload)));
    expect(joined).toEqual(frame);
    expect(decodeFrame(joined).header.frameId).toBe(4);
  });

  it('writes the header as documented: version/flags, seq u16 LE, index, last index', () => {
    const [p] = segmentFrame(Uint8Array.from([0xaa, 0xbb]), { mtu: 16, seq: 0x1234 });
    expect(Array.from(p!.subarray(0, 7))).toEqual([0x10, 0x34, 0x12, 0x00, 0x00, 0xaa, 0xbb]);
    const wide = segmentFrame(bytes(3000), { mtu: 16, seq: 1 });
    expect(Array.from(wide[300]!.subarray(0, 7))).toEqual([0x11, 0x01, 0x00, 0x2c, 0x01, 0xac, 0x01]); // index 300, last index 428 (429 segments of 7 bytes)
  });

  it('sends an empty frame as one 7-byte packet', () => {
    const packets = segmentFrame(new Uint8Array(0), { mtu: 16, seq: 0 });
    expect(packets).toHaveLength(1);
    expect(decodeSegment(packets[0]!).payload.length).toBe(0);
  });

  it('refuses a bad seq (BAD_HEADER), a non-buffer (BAD_LENGTH) and an MTU of 15 (BAD_LENGTH)', () => {
    expect(codeOf(() => segmentFrame(bytes(10), { mtu: 16, seq: 65536 }))).toBe('BAD_HEADER');
    expect(codeOf(() => segmentFrame(bytes(10), { mtu: 16, seq: -1 }))).toBe('BAD_HEADER');
    expect(codeOf(() => segmentFrame('abc' as unknown as Uint8Array, { mtu: 16, seq: 0 }))).toBe('BAD_LENGTH');
    expect(codeOf(() => segmentFrame(bytes(10), { mtu: 15, seq: 0 }))).toBe('BAD_LENGTH');
  });
});

describe('encodeSegment and decodeSegment', () => {
  it('refuse indices out of range for the form', () => {
    expect(codeOf(() => encodeSegment({ seq: 0, index: 3, lastIndex: 2, payload: bytes(1) }))).toBe('BAD_FRAGMENT');
    expect(codeOf(() => encodeSegment({ seq: 0, index: 0, lastIndex: 256, wide: false, payload: bytes(1) }))).toBe('BAD_FRAGMENT');
    expect(codeOf(() => encodeSegment({ seq: 0, index: 0, lastIndex: 65536, payload: bytes(1) }))).toBe('BAD_FRAGMENT');
    expect(codeOf(() => encodeSegment({ seq: 0, index: 0, lastIndex: 0, payload: bytes(4090) }))).toBe('TOO_LARGE');
  });

  it('picks the wide form by itself when the last index needs it', () => {
    expect(decodeSegment(encodeSegment({ seq: 5, index: 300, lastIndex: 400, payload: bytes(3) }))).toMatchObject({ wide: true, index: 300, lastIndex: 400 });
  });

  it('detects every single-bit error in a packet, the CRC bytes included', () => {
    const p = segmentFrame(bytes(200), { mtu: 58, seq: 77 })[1]!;
    for (let bit = 0; bit < p.length * 8; bit++) {
      const q = p.slice();
      q[bit >> 3] = q[bit >> 3]! ^ (1 << (bit & 7));
      expect(codeOf(() => decodeSegment(q))).toBe('CRC_MISMATCH');
    }
  });

  it('reports BAD_LENGTH for what is not a byte buffer', () => {
    expect(codeOf(() => decodeSegment(null as unknown as Uint8Array))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeSegment([1, 2, 3] as unknown as Uint8Array))).toBe('BAD_LENGTH');
  });

  it('reads a packet that is a view into a larger buffer', () => {
    const p = segmentFrame(bytes(20), { mtu: 16, seq: 3 })[1]!;
    const big = new Uint8Array(p.length + 10);
    big.set(p, 5);
    expect(decodeSegment(big.subarray(5, 5 + p.length))).toMatchObject({ seq: 3, index: 1, lastIndex: 2 });
  });
});
