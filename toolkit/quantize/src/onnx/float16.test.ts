import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  fromFloat16Bits,
  toFloat16Bits,
} from './float16.js';

// Pairs produced by numpy's astype at development time (fixtures/make_fixtures.py, float16_vectors).
const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../../fixtures/float16-vectors.json', import.meta.url)), 'utf8')) as {
  float32BitsToHalfBits: [number, number][];
  halfBitsToFloat32Bits: [number, number][];
};
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (bits: number): number => {
  u32[0] = bits;
  return f32[0]!;
};
const toBits = (x: number): number => {
  f32[0] = x;
  return u32[0]!;
};

describe('float16', () => {
  it(`matches numpy on ${vectors.float32BitsToHalfBits.length} float32 -> float16 conversions (midpoints, subnormals, overflow, inf, NaN)`, () => {
    const bad = vectors.float32BitsToHalfBits.filter(([x, h]) => float32ToFloat16Bits(fromBits(x)) !== h);
    expect(bad.map(([x, h]) => `${x.toString(16)} -> ${h.toString(16)}`)).toEqual([]);
    const arr = Float32Array.from(vectors.float32BitsToHalfBits, ([x]) => fromBits(x));
    expect(Array.from(toFloat16Bits(arr))).toEqual(vectors.float32BitsToHalfBits.map(([, h]) => h));
  });

  it('matches numpy on float16 -> float32', () => {
    for (const [h, bits] of vectors.halfBitsToFloat32Bits) {
      const v = float16BitsToFloat32(h);
      if (Number.isNaN(v)) expect(Number.isNaN(fromBits(bits))).toBe(true);
      else expect(toBits(v), h.toString(16)).toBe(bits);
    }
  });

  it('round-trips all 65536 half bit patterns (NaNs stay NaN)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const floats = fromFloat16Bits(all);
    const back = toFloat16Bits(floats);
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(floats[h])) expect(Number.isNaN(float16BitsToFloat32(back[h]!))).toBe(true);
      else if (back[h] !== h) expect.fail(`half ${h.toString(16)} came back as ${back[h]!.toString(16)}`);
    }
  });

  it('rounds ties to even and overflows at 65520', () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and the next half: even is 1
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd below: rounds up
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: ties to even zero
    expect(float32ToFloat16Bits(-(2 ** -24))).toBe(0x8001);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
  });
});

describe('bfloat16', () => {
  it('rounds to nearest even and keeps infinities and NaN', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(fromBits(0x3f808000))).toBe(0x3f80); // tie, even below
    expect(float32ToBfloat16Bits(fromBits(0x3f818000))).toBe(0x3f82); // tie, odd below
    expect(float32ToBfloat16Bits(Infinity)).toBe(0x7f80);
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN)))).toBe(true);
    expect(bfloat16BitsToFloat32(0xc040)).toBe(-3);
  });
});
