import { describe, expect, it } from 'vitest';
import { addAwgn, psnrDb, rowSeed, seededRandom } from './channel.js';

describe('JSCC channel', () => {
  it('adds noise of variance 10^(-SNR/10) per complex symbol, only to the values sent', () => {
    const n = 200_000;
    const x = new Float32Array(n);
    addAwgn(x, 4, seededRandom(9), n / 2);
    let power = 0;
    for (let i = 0; i < n / 2; i++) power += x[i]! * x[i]!;
    expect(power / (n / 4)).toBeCloseTo(10 ** -0.4, 2);
    expect(x.subarray(n / 2).every((v) => v === 0)).toBe(true);
  });

  it('gives each row and SNR its own reproducible seed', () => {
    expect(rowSeed(1, 0, 7)).toBe(rowSeed(1, 0, 7));
    const seeds = new Set([rowSeed(1, 0, 7), rowSeed(1, 1, 7), rowSeed(1, 0, 10), rowSeed(2, 0, 7)]);
    expect(seeds.size).toBe(4);
  });

  it('measures PSNR on [0, 1] images and clips reconstructions to that range', () => {
    const ref = Float32Array.of(0, 0.5, 1, 1);
    expect(psnrDb(ref, ref)).toBe(Infinity);
    expect(psnrDb(ref, Float32Array.of(0, 0.5, 1, 2))).toBe(Infinity);
    expect(psnrDb(ref, Float32Array.of(0.1, 0.5, 1, 1))).toBeCloseTo(10 * Math.log10(1 / (0.01 / 4)), 6);
    expect(psnrDb(Float32Array.of(0.5), Float32Array.of(9, 9, 0.25), 2)).toBeCloseTo(10 * Math.log10(1 / 0.0625), 6);
  });
});
