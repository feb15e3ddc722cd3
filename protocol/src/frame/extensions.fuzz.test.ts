/**
 * Fuzzing the protocol 1.3 header extensions (readExtensions, RX_SNR) and the frame decoder's claimed
 * sizes. Properties: an extension area of any bytes never makes a frame invalid and yields exactly what an
 * independent reading of PROTOCOL.md's rules yields; frames written with an RX_SNR round-trip; a header that
 * claims gigabytes (payload length, total symbols) is refused before anything of that size is allocated.
 * 36,000 cases per CI run (test/fuzz/runs.ts scales them).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayBufferGrowth, fuzzRuns } from '../../../test/fuzz/runs.js';
import { ProtocolError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { decodeFrame, encodeFrame, peekFrameHeader } from './codec.js';
import { FLAG_EXTENSIONS, RX_SNR_LIMIT_DB, SYMBOL_DTYPES, type FrameHeaderInit } from './header.js';
import { Reassembler } from './reassembler.js';

const HEADER: FrameHeaderInit = {
  dtype: 'float32', hasKbEntry: false, endOfSession: false, actionId: 1, deviceId: 9, sessionId: 2, frameId: 3,
  fragmentIndex: 0, fragmentCount: 1, kbVersion: 0, kbEntry: 0, totalSymbols: 2, symbolOffset: 0, scale: 1, timestampUs: 1000,
};
const PAYLOAD = new Uint8Array(new Float32Array([1, 0, 0, 1]).buffer);

/** PROTOCOL.md's extension rules, read independently of header.ts: the RX_SNR a receiver keeps, if any. */
function referenceRxSnr(area: Uint8Array): number | undefined {
  let found: number | undefined;
  let i = 0;
  while (i < area.length) {
    if (area[i] === 0) {
      i += 1;
      continue;
    }
    if (i + 1 >= area.length) return undefined; // no room for the length byte: the area is ignored whole
    const length = area[i + 1]!;
    if (i + 2 + length > area.length) return undefined;
    if (area[i] === 1 && length === 4 && found === undefined) {
      const v = new DataView(area.buffer, area.byteOffset + i + 2, 4).getFloat32(0, true);
      if (Number.isFinite(v) && Math.abs(v) <= RX_SNR_LIMIT_DB) found = v;
    }
    i += 2 + length;
  }
  return found;
}

/** A valid frame whose header bytes 56.. are `area` with the EXTENSIONS flag set, and a correct CRC. */
function withArea(area: Uint8Array, flagged: boolean): Uint8Array {
  const bytes = encodeFrame({ ...HEADER, headerLength: 56 + area.length }, PAYLOAD);
  bytes.set(area, 56);
  if (flagged) bytes[3] = bytes[3]! | FLAG_EXTENSIONS;
  const body = bytes.length - 4;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(body, crc32c(bytes.subarray(0, body)), true);
  return bytes;
}

/** Extension areas shaped like real ones (pads, RX_SNR records, unknown types) as often as random bytes. */
const record = fc.oneof(
  fc.constant([0]),
  fc.float().map((v) => {
    const b = new Uint8Array(6);
    b[0] = 1;
    b[1] = 4;
    new DataView(b.buffer).setFloat32(2, v, true);
    return [...b];
  }),
  fc.tuple(fc.nat({ max: 255 }), fc.uint8Array({ maxLength: 12 })).map(([type, value]) => [type, value.length, ...value]),
  fc.tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 })).map(([type, length]) => [type, length]),
);
const area = fc.oneof(
  fc.uint8Array({ maxLength: 199 }),
  fc.array(record, { maxLength: 12 }).map((rs) => Uint8Array.from(rs.flat().slice(0, 199))),
);

describe('frame header extensions under fuzzing', () => {
  it('any extension area leaves the frame valid and yields the RX_SNR the rules give', () => {
    fc.assert(
      fc.property(area, fc.boolean(), (a, flagged) => {
        const bytes = withArea(a, flagged);
        const { header, payload } = decodeFrame(bytes);
        expect(payload).toEqual(PAYLOAD);
        expect(header.headerLength).toBe(56 + a.length);
        const expected = flagged ? referenceRxSnr(a) : undefined;
        expect(header.rxSnrDb).toBe(expected);
        expect('rxSnrDb' in header).toBe(expected !== undefined);
        expect(peekFrameHeader(bytes).rxSnrDb).toBe(expected);
        // What a receiver read, it re-encodes (a gateway re-publishing): same header but for the layout.
        const { headerLength: _layout, ...init } = header;
        const again = decodeFrame(encodeFrame(init, payload)).header;
        expect(again.rxSnrDb).toBe(expected);
      }),
      fuzzRuns(15_000),
    );
  });

  it('frames written with an RX_SNR round-trip for every dtype and header length', () => {
    const snr = fc.float({ min: -RX_SNR_LIMIT_DB, max: RX_SNR_LIMIT_DB, noNaN: true });
    fc.assert(
      fc.property(snr, fc.option(fc.integer({ min: 62, max: 255 }), { nil: undefined }), fc.constantFrom(...SYMBOL_DTYPES), (rxSnrDb, headerLength, dtype) => {
        const scale = dtype === 'int8' ? 0.5 : 1;
        const header = { ...HEADER, dtype, scale, rxSnrDb, ...(headerLength === undefined ? {} : { headerLength }) };
        const decoded = decodeFrame(encodeFrame(header, new Uint8Array(2 * { float32: 4, float16: 2, int8: 1 }[dtype])));
        expect(decoded.header.rxSnrDb).toBe(rxSnrDb);
        expect(decoded.header.headerLength).toBe(headerLength ?? 64);
      }),
      fuzzRuns(10_000),
    );
  });

  it('senders may not write an RX_SNR outside ±100 dB or not finite', () => {
    const bad = fc.oneof(fc.double({ min: 100.0001, noNaN: true }), fc.double({ max: -100.0001, noNaN: true }), fc.constant(Number.NaN));
    fc.assert(
      fc.property(bad, (rxSnrDb) => {
        expect(() => encodeFrame({ ...HEADER, rxSnrDb }, PAYLOAD)).toThrow(ProtocolError);
      }),
      fuzzRuns(2_000),
    );
  });

  it('a header claiming huge sizes is refused before they are allocated', () => {
    // Payload length and total symbols up to 2^32 - 1, the frame itself a few dozen bytes.
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 40 }), (payloadLength, totalSymbols, tail) => {
        const bytes = new Uint8Array(56 + tail.length);
        bytes.set(encodeFrame(HEADER, PAYLOAD).subarray(0, 56));
        bytes.set(tail, 56);
        const view = new DataView(bytes.buffer);
        view.setUint32(44, payloadLength, true);
        view.setUint32(32, totalSymbols, true);
        const r = new Reassembler({ timeoutMs: 100, maxPendingFrames: 2, maxTotalSymbols: 4096, now: () => 0 });
        const growth = arrayBufferGrowth(() => {
          expect(() => decodeFrame(bytes)).toThrow(ProtocolError);
          try {
            r.push(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
        });
        expect(growth).toBeLessThan(1 << 20);
      }),
      fuzzRuns(5_000),
    );
  });

  it('the reassembler allocates a valid frame of any claimed size only within maxTotalSymbols', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 2 ** 24 }), (totalSymbols) => {
        const r = new Reassembler({ timeoutMs: 100, maxPendingFrames: 2, maxTotalSymbols: 4096, now: () => 0 });
        const bytes = encodeFrame({ ...HEADER, totalSymbols, fragmentCount: 2 }, PAYLOAD);
        const growth = arrayBufferGrowth(() => {
          try {
            r.push(bytes);
            expect(totalSymbols).toBeLessThanOrEqual(4096);
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
            expect((e as ProtocolError).code).toBe('TOO_LARGE');
          }
        });
        expect(growth).toBeLessThan(1 << 20);
      }),
      fuzzRuns(4_000),
    );
  });
});
