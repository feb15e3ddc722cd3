import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float16DecodeTable, float32BitsToFloat16Bits, float32ToFloat16Bits } from './float16.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number): number => {
  f32[0] = x;
  return u32[0]!;
};

/** Finite positive halves in order, from an independent formula. */
const HALVES = Array.from({ length: 0x7c00 }, (_, h) => (h < 0x400 ? h * 2 ** -24 : 2 ** ((h >> 10) - 15) * (1 + (h & 0x3ff) / 1024)));

/** Reference: nearest half by search, ties to the even bit pattern, Inf from 65520 up. */
function nearestHalf(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = HALVES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (HALVES[mid]! <= a) lo = mid;
    else hi = mid;
  }
  if (a >= HALVES[hi]!) return sign | hi;
  const below = a - HALVES[lo]!;
  const above = HALVES[hi]! - a;
  return sign | (below < above ? lo : below > above ? hi : lo % 2 === 0 ? lo : hi);
}

describe('float16', () => {
  // Loops collect mismatches and assert once: an expect() per value would dominate the run time.
  it('decodes every half exactly and encodes it back to the same bits', () => {
    const bad: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const v = float16BitsToFloat32(h);
      const isNan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNan) {
        if (!Number.isNaN(v) || (float32ToFloat16Bits(v) & 0x7e00) !== 0x7e00) bad.push(`NaN ${h}`);
      } else if (((h & 0x7fff) < 0x7c00 && Math.abs(v) !== HALVES[h & 0x7fff]) || float32ToFloat16Bits(v) !== h) {
        bad.push(`half ${h}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('rounds to nearest even at and around every midpoint', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (HALVES[h]! + HALVES[h + 1]!) / 2; // exact in float32 (needs at most 12 significant bits)
      const b = bitsOf(mid);
      for (const bits of [b - 1, b, b + 1]) {
        u32[0] = bits;
        const x = f32[0]!;
        if (float32BitsToFloat16Bits(bits) !== nearestHalf(x)) bad.push(bits);
        if (float32BitsToFloat16Bits((bits | 0x80000000) >>> 0) !== nearestHalf(-x)) bad.push(-bits);
      }
    }
    expect(bad).toEqual([]);
  });

  it('agrees with the reference on a sweep of float32 bit patterns', () => {
    const bad: number[] = [];
    for (let bits = 0; bits < 0x7f800000; bits += 16381) {
      u32[0] = bits;
      if (float32BitsToFloat16Bits(bits) !== nearestHalf(f32[0]!)) bad.push(bits);
    }
    expect(bad).toEqual([]);
  });

  it('keeps Inf and NaN, overflows to Inf, underflows to signed zero', () => {
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(float32ToFloat16Bits(NaN) & 0x7e00).toBe(0x7e00);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65519.99)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e9)).toBe(0xfc00);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0);
    expect(float32ToFloat16Bits(-(2 ** -26))).toBe(0x8000);
    expect(float32ToFloat16Bits(1.5 * 2 ** -24)).toBe(2);
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66);
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
  });

  it('has a decode table equal to the formula', () => {
    const table = float16DecodeTable();
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if (!Object.is(table[h], Math.fround(float16BitsToFloat32(h))) && !Number.isNaN(table[h])) bad.push(h);
    }
    expect(bad).toEqual([]);
  });
});
