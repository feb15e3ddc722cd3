import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { decodeFrame, encodeFrame, encodeFrameWith, peekFrameHeader } from './codec.js';
import { fragmentSymbols } from './fragment.js';
import { packSymbols } from './symbols.js';
import type { FrameHeaderInit } from './header.js';

const HEADER: FrameHeaderInit = {
  dtype: 'int8',
  hasKbEntry: true,
  endOfSession: true,
  actionId: 0x0102,
  deviceId: 0x03040506,
  sessionId: 0x0708090a,
  frameId: 0x0b0c0d0e,
  fragmentIndex: 1,
  fragmentCount: 2,
  kbVersion: 0x11121314,
  kbEntry: 0x15161718,
  totalSymbols: 3,
  symbolOffset: 2,
  scale: 0.5,
  timestampUs: 0x0001020304050607,
};
const PAYLOAD = Uint8Array.from([0x01, 0xff]);

// Written out by hand from the table in PROTOCOL.md, field by field.
const EXPECTED_BODY = [
  '414b', '01', '03', '38', '02', '0201', '06050403', '0a090807', '0e0d0c0b', '0100', '0200',
  '14131211', '18171615', '03000000', '02000000', '0000003f', '02000000', '0706050403020100', '01ff',
].join('');

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return 'no error';
}

/** Sets header bytes and fixes the CRC, so checks after the CRC are reached. */
function patched(bytes: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  edit(view);
  view.setUint32(out.length - 4, crc32c(out.subarray(0, out.length - 4)), true);
  return out;
}

describe('encodeFrame', () => {
  it('writes every field little-endian at its offset, then the CRC-32C of all before it', () => {
    const bytes = encodeFrame(HEADER, PAYLOAD);
    expect(bytes.length).toBe(56 + 2 + 4);
    expect(Buffer.from(bytes.subarray(0, 58)).toString('hex')).toBe(EXPECTED_BODY);
    const crc = crc32c(Buffer.from(EXPECTED_BODY, 'hex'));
    expect(new DataView(bytes.buffer).getUint32(58, true)).toBe(crc);
  });

  it('writes a longer header with zeroed extension bytes', () => {
    const bytes = encodeFrame({ ...HEADER, headerLength: 60 }, PAYLOAD);
    expect(bytes[4]).toBe(60);
    expect(Array.from(bytes.subarray(56, 60))).toEqual([0, 0, 0, 0]);
    expect(Array.from(bytes.subarray(60, 62))).toEqual([0x01, 0xff]);
  });

  it('zeroes the extension bytes of a large frame, whose memory is not cleared first', () => {
    const junk = new Uint8Array(20_000).fill(0xee);
    for (let i = 0; i < 30; i++) {
      const bytes = encodeFrame({ ...HEADER, dtype: 'float32', scale: 1, symbolOffset: 0, totalSymbols: 2500, headerLength: 64 }, junk);
      expect(Array.from(bytes.subarray(56, 64))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      expect(decodeFrame(bytes).payload.every((b) => b === 0xee)).toBe(true);
    }
  });

  it.each<[string, Partial<FrameHeaderInit>, Uint8Array, string]>([
    ['action id over u16', { actionId: 0x10000 }, PAYLOAD, 'BAD_HEADER'],
    ['negative device id', { deviceId: -1 }, PAYLOAD, 'BAD_HEADER'],
    ['fractional frame id', { frameId: 1.5 }, PAYLOAD, 'BAD_HEADER'],
    ['header length 55', { headerLength: 55 }, PAYLOAD, 'BAD_HEADER'],
    ['unknown dtype', { dtype: 'int4' as 'int8' }, PAYLOAD, 'BAD_DTYPE'],
    ['a dtype named like an Object property', { dtype: 'constructor' as 'int8' }, PAYLOAD, 'BAD_DTYPE'],
    ['index equal to count', { fragmentIndex: 2 }, PAYLOAD, 'BAD_FRAGMENT'],
    ['count 0', { fragmentCount: 0, fragmentIndex: 0 }, PAYLOAD, 'BAD_FRAGMENT'],
    ['symbols past total', { symbolOffset: 3 }, PAYLOAD, 'BAD_FRAGMENT'],
    ['half a float32 symbol', { dtype: 'float32', scale: 1 }, new Uint8Array(4), 'BAD_LENGTH'],
    ['int8 scale 0', { scale: 0 }, PAYLOAD, 'BAD_HEADER'],
    ['scale not a float32', { scale: 0.1 }, PAYLOAD, 'BAD_HEADER'],
    ['float16 scale 2', { dtype: 'float16', scale: 2 }, new Uint8Array(4), 'BAD_HEADER'],
    ['too many symbols', { totalSymbols: 2 ** 24 + 1 }, PAYLOAD, 'TOO_LARGE'],
    ['timestamp past 2^53', { timestampUs: 2 ** 53 }, PAYLOAD, 'BAD_HEADER'],
  ])('refuses %s', (_name, change, payload, code) => {
    expect(errorCode(() => encodeFrame({ ...HEADER, ...change }, payload))).toBe(code);
  });
});

describe('encodeFrameWith', () => {
  it('writes the bytes encodeFrame writes, with the payload written in place', () => {
    const bytes = encodeFrameWith({ ...HEADER, headerLength: 60 }, 2, (p) => {
      expect(p.length).toBe(2);
      p.set(PAYLOAD);
    });
    expect(Array.from(bytes)).toEqual(Array.from(encodeFrame({ ...HEADER, headerLength: 60 }, PAYLOAD)));
  });

  it('checks the header before the payload is written', () => {
    let called = false;
    expect(errorCode(() => encodeFrameWith({ ...HEADER, fragmentIndex: 2 }, 2, () => (called = true)))).toBe('BAD_FRAGMENT');
    expect(called).toBe(false);
  });

  it.each(['float32', 'float16', 'int8'] as const)('gives fragmentSymbols the bytes of packSymbols + encodeFrame (%s)', (dtype) => {
    const values = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * (i + 1));
    const meta = { deviceId: 9, sessionId: 8, frameId: 7, actionId: 6, kbVersion: 5, kbEntry: 4, timestampUs: 3 };
    const fragments = fragmentSymbols(meta, values, { mtu: 100, dtype });
    let offset = 0;
    for (const [index, fragment] of fragments.entries()) {
      const { header } = decodeFrame(fragment);
      const count = header.payloadLength / (dtype === 'float32' ? 8 : dtype === 'float16' ? 4 : 2);
      const { payload, scale } = packSymbols(values.subarray(2 * offset, 2 * (offset + count)), dtype);
      const { version: _v, headerLength: _h, payloadLength: _p, ...init } = header;
      expect(header.fragmentIndex).toBe(index);
      expect(Array.from(fragment)).toEqual(Array.from(encodeFrame({ ...init, scale }, payload)));
      offset += count;
    }
    expect(offset).toBe(25);
  });
});

describe('decodeFrame', () => {
  const bytes = encodeFrame(HEADER, PAYLOAD);

  it('names the stored and the computed CRC when they differ', () => {
    const bad = bytes.map((b, i) => (i === 10 ? b ^ 0x20 : b));
    const stored = new DataView(bytes.buffer, bytes.byteOffset).getUint32(58, true);
    const actual = crc32c(bad.subarray(0, 58));
    expect(() => decodeFrame(bad)).toThrow(`CRC-32C 0x${actual.toString(16).padStart(8, '0')} does not match the stored 0x${stored.toString(16).padStart(8, '0')}`);
  });

  it('decodes what encodeFrame wrote', () => {
    const { header, payload } = decodeFrame(bytes);
    expect(header).toEqual({ ...HEADER, version: 1, headerLength: 56, payloadLength: 2 });
    expect(Array.from(payload)).toEqual([0x01, 0xff]);
  });

  it('decodes a frame at an odd offset inside a larger buffer, and a Node Buffer', () => {
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    expect(decodeFrame(big.subarray(3)).header.frameId).toBe(HEADER.frameId);
    expect(decodeFrame(Buffer.from(bytes)).header.frameId).toBe(HEADER.frameId);
  });

  it('skips the extra bytes of a longer header, whatever they hold', () => {
    const long = encodeFrame({ ...HEADER, headerLength: 64 }, PAYLOAD);
    const withJunk = patched(long, (v) => v.setUint32(56, 0xdeadbeef, true));
    const { header, payload } = decodeFrame(withJunk);
    expect(header.headerLength).toBe(64);
    expect(Array.from(payload)).toEqual([0x01, 0xff]);
  });

  it('ignores reserved flag bits', () => {
    const { header } = decodeFrame(patched(bytes, (v) => v.setUint8(3, 0xfd)));
    expect(header.hasKbEntry).toBe(true);
    expect(header.endOfSession).toBe(false);
  });

  it.each<[string, Uint8Array, string]>([
    ['no bytes', new Uint8Array(0), 'TRUNCATED'],
    ['one byte of magic', Uint8Array.from([0x41]), 'TRUNCATED'],
    ['a wrong first byte alone', Uint8Array.from([0x42]), 'BAD_MAGIC'],
    ['a wrong magic', patched(bytes, (v) => v.setUint8(1, 0x4c)), 'BAD_MAGIC'],
    ['version 0', patched(bytes, (v) => v.setUint8(2, 0)), 'UNSUPPORTED_VERSION'],
    ['version 2 in 3 bytes', Uint8Array.from([0x41, 0x4b, 2]), 'UNSUPPORTED_VERSION'],
    ['55 bytes', bytes.slice(0, 55), 'TRUNCATED'],
    ['header length 0', patched(bytes, (v) => v.setUint8(4, 0)), 'BAD_HEADER'],
    ['header length past the buffer', patched(bytes, (v) => v.setUint8(4, 200)), 'TRUNCATED'],
    ['payload length 2^24 + 1', patched(bytes, (v) => v.setUint32(44, 2 ** 24 + 1, true)), 'TOO_LARGE'],
    ['one byte short', bytes.slice(0, -1), 'TRUNCATED'],
    ['one byte extra', Uint8Array.from([...bytes, 0]), 'BAD_LENGTH'],
    ['a flipped header bit', bytes.map((b, i) => (i === 10 ? b ^ 0x20 : b)), 'CRC_MISMATCH'],
    ['a flipped CRC bit', bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 0x80 : b)), 'CRC_MISMATCH'],
    ['dtype 255', patched(bytes, (v) => v.setUint8(5, 255)), 'BAD_DTYPE'],
    ['timestamp of 2^53', patched(bytes, (v) => v.setUint32(52, 2 ** 21, true)), 'BAD_HEADER'],
    ['fragment count 0', patched(bytes, (v) => v.setUint16(22, 0, true)), 'BAD_FRAGMENT'],
    ['total symbols 2^24 + 1', patched(bytes, (v) => v.setUint32(32, 2 ** 24 + 1, true)), 'TOO_LARGE'],
    ['symbol offset past the total', patched(bytes, (v) => v.setUint32(36, 0xffffffff, true)), 'BAD_FRAGMENT'],
    ['a NaN scale', patched(bytes, (v) => v.setFloat32(40, NaN, true)), 'BAD_HEADER'],
    ['a negative scale', patched(bytes, (v) => v.setFloat32(40, -0.5, true)), 'BAD_HEADER'],
  ])('refuses %s', (_name, input, code) => {
    expect(errorCode(() => decodeFrame(input))).toBe(code);
  });

  it('refuses what is not a Uint8Array with a ProtocolError', () => {
    for (const input of [undefined, null, 'AK', 42, {}, [0x41, 0x4b], new Uint16Array(40)]) {
      expect(errorCode(() => decodeFrame(input as Uint8Array))).toBe('BAD_LENGTH');
    }
  });
});

describe('peekFrameHeader', () => {
  it('reads the header without the payload or CRC', () => {
    const bytes = encodeFrame(HEADER, PAYLOAD);
    expect(peekFrameHeader(bytes.subarray(0, 56)).frameId).toBe(HEADER.frameId);
    expect(peekFrameHeader(bytes.map((b, i) => (i === 57 ? 0 : b))).deviceId).toBe(HEADER.deviceId);
  });

  it('still refuses a header it cannot read', () => {
    expect(errorCode(() => peekFrameHeader(new Uint8Array(20)))).toBe('BAD_MAGIC');
    expect(errorCode(() => peekFrameHeader(encodeFrame(HEADER, PAYLOAD).subarray(0, 40)))).toBe('TRUNCATED');
  });
});
