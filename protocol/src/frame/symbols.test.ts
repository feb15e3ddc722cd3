import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AkbError, ProtocolError } from '../errors.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16.js';
import { packSymbols, roundHalfEven, unpackSymbols, unpackSymbolsInto } from './symbols.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AkbError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('packSymbols', () => {
  it('writes float32 little-endian', () => {
    expect(hex(packSymbols(new Float32Array([1, -2]), 'float32').payload)).toBe('0000803f000000c0');
  });

  it('writes float16 little-endian', () => {
    const { payload, scale } = packSymbols(new Float32Array([1, -2, 65504, 0.1]), 'float16');
    expect(hex(payload)).toBe('003c00c0ff7b662e');
    expect(scale).toBe(1);
  });

  it('quantizes int8 with scale max|x|/127, half to even', () => {
    const values = new Float32Array([15.875, -15.875, 0.0625, 0.1875, -0.3125, 1, 0, -7.0625]);
    const { payload, scale } = packSymbols(values, 'int8');
    expect(scale).toBe(0.125);
    expect(hex(payload)).toBe('7f810002fe0800c8');
  });

  it('uses scale 1 for all zeros and never an underflowed scale of 0', () => {
    expect(packSymbols(new Float32Array(4), 'int8')).toEqual({ payload: new Uint8Array(4), scale: 1 });
    const tiny = packSymbols(new Float32Array([2 ** -140, -(2 ** -141)]), 'int8');
    expect(tiny.scale).toBeGreaterThan(0);
    // A subnormal scale has few bits, so the value comes back only roughly.
    expect(unpackSymbols(tiny.payload, 'int8', tiny.scale)[0]! / 2 ** -140).toBeCloseTo(1, 1);
  });

  it('refuses odd value counts and non-finite int8 values', () => {
    expect(codeOf(() => packSymbols(new Float32Array(3), 'float32'))).toBe('BAD_LENGTH');
    expect(codeOf(() => packSymbols(new Float32Array([1, NaN]), 'int8'))).toBe('NON_FINITE_SYMBOL');
    expect(codeOf(() => packSymbols(new Float32Array([Infinity, 0]), 'int8'))).toBe('NON_FINITE_SYMBOL');
  });
});

describe('roundHalfEven', () => {
  it.each([
    [0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [-2.5, -2], [2.4999, 2], [2.5001, 3], [-126.5, -126], [126.5, 126],
  ])('%d -> %d', (v, r) => {
    expect(roundHalfEven(v)).toBe(r);
  });
});

describe('unpackSymbols', () => {
  it('round-trips float32 exactly, float16 as float16 rounding, int8 within half a step', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e4, max: 1e4 }), { maxLength: 64 }), (raw) => {
        const values = new Float32Array(raw.length - (raw.length % 2)).map((_, i) => raw[i]!);
        const f32 = packSymbols(values, 'float32');
        expect(unpackSymbols(f32.payload, 'float32', 1)).toEqual(values);
        const f16 = packSymbols(values, 'float16');
        expect(unpackSymbols(f16.payload, 'float16', 1)).toEqual(values.map((v) => float16BitsToFloat32(float32ToFloat16Bits(v))));
        const i8 = packSymbols(values, 'int8');
        const back = unpackSymbols(i8.payload, 'int8', i8.scale);
        back.forEach((v, i) => expect(Math.abs(v - values[i]!)).toBeLessThanOrEqual(i8.scale / 2 + Math.abs(values[i]!) * 2 ** -23));
      }),
      { numRuns: 300 },
    );
  });

  it('reads payloads at any byte offset', () => {
    const bytes = new Uint8Array(9);
    bytes.set(packSymbols(new Float32Array([1.25, -3]), 'float32').payload, 1);
    expect(Array.from(unpackSymbols(bytes.subarray(1), 'float32', 1))).toEqual([1.25, -3]);
  });

  it('reads int8 -128, which senders never write but receivers accept', () => {
    expect(Array.from(unpackSymbols(Uint8Array.from([0x80, 0x7f]), 'int8', 0.5))).toEqual([-64, 63.5]);
  });

  it('throws ProtocolError for bad lengths, scales and dtypes', () => {
    expect(codeOf(() => unpackSymbols(new Uint8Array(6), 'float32', 1))).toBe('BAD_LENGTH');
    expect(codeOf(() => unpackSymbols(new Uint8Array(3), 'float16', 1))).toBe('BAD_LENGTH');
    expect(codeOf(() => unpackSymbols(new Uint8Array(1), 'int8', 1))).toBe('BAD_LENGTH');
    for (const scale of [0, -1, NaN, Infinity]) expect(codeOf(() => unpackSymbols(new Uint8Array(2), 'int8', scale))).toBe('BAD_HEADER');
    expect(codeOf(() => unpackSymbols(new Uint8Array(2), 'int4' as 'int8', 1))).toBe('BAD_DTYPE');
    expect(() => unpackSymbols(new Uint8Array(6), 'float32', 1)).toThrow(ProtocolError);
  });

  it('unpacks into a target at an offset, and refuses what does not fit', () => {
    const target = new Float32Array(6);
    expect(unpackSymbolsInto(packSymbols(new Float32Array([1, 2]), 'float16').payload, 'float16', 1, target, 2)).toBe(2);
    expect(Array.from(target)).toEqual([0, 0, 1, 2, 0, 0]);
    expect(codeOf(() => unpackSymbolsInto(new Uint8Array(8), 'float32', 1, target, 5))).toBe('BAD_LENGTH');
    expect(codeOf(() => unpackSymbolsInto(new Uint8Array(8), 'float32', 1, target, -1))).toBe('BAD_LENGTH');
  });
});

describe('int8 near the float32 limit', () => {
  it('never dequantizes to Inf', () => {
    const max = new Float32Array([3.4028234663852886e38])[0]!;
    const { payload, scale } = packSymbols(new Float32Array([max, -max]), 'int8');
    const back = unpackSymbols(payload, 'int8', scale);
    expect(Array.from(payload)).toEqual([127, 129]);
    expect(Number.isFinite(back[0]) && Number.isFinite(back[1])).toBe(true);
    expect(Math.abs(back[0]! - max)).toBeLessThanOrEqual(scale / 2);
  });
});
