import { describe, expect, it } from 'vitest';
import { jakesCorrelation } from './bessel.js';
import { GaussMarkovFading, createFading } from './fading.js';
import { seededRandom } from '@akb/protocol';

describe('block fading', () => {
  it('Rayleigh: one h ~ CN(0,1) per frame, shared by its fragments; |h|² is exponential with mean 1', () => {
    // Thrown at it: 50 000 frames of two fragments each.
    const fading = createFading({ kind: 'rayleigh' }, seededRandom(4));
    const n = 50_000;
    let power = 0;
    let below1 = 0;
    let re = 0;
    let inconsistent = 0;
    for (let f = 0; f < n; f++) {
      const a = fading.gains(`d/1/${f}`, 10, f);
      const b = fading.gains(`d/1/${f}`, 10, f + 0.5);
      const p = a.first.re ** 2 + a.first.im ** 2;
      if (b.first !== a.first || a.perSymbol !== undefined || Math.abs(a.meanPower - p) > 1e-12) inconsistent++;
      power += p;
      re += a.first.re;
      if (p < 1) below1++;
    }
    expect(inconsistent).toBe(0);
    expect(Math.abs(power / n - 1)).toBeLessThan(0.03);
    expect(Math.abs(below1 / n - (1 - Math.exp(-1)))).toBeLessThan(0.01);
    expect(Math.abs(re / n)).toBeLessThan(0.01); // zero mean
  });

  it('phase-blind Rayleigh applies |h|: real, non-negative, same power', () => {
    const fading = createFading({ kind: 'rayleigh', phaseBlind: true }, seededRandom(5));
    let power = 0;
    let notReal = 0;
    for (let f = 0; f < 20_000; f++) {
      const { first } = fading.gains(`f${f}`, 1, 0);
      if (first.im !== 0 || first.re < 0) notReal++;
      power += first.re ** 2;
    }
    expect(notReal).toBe(0);
    expect(Math.abs(power / 20_000 - 1)).toBeLessThan(0.03);
  });

  it('Rician: unit mean power, its line-of-sight part as the mean of h', () => {
    const k = 4;
    const fading = createFading({ kind: 'rician', kFactor: k }, seededRandom(6));
    let power = 0;
    let re = 0;
    for (let f = 0; f < 20_000; f++) {
      const { first } = fading.gains(`f${f}`, 1, 0);
      power += first.re ** 2 + first.im ** 2;
      re += first.re;
    }
    expect(Math.abs(power / 20_000 - 1)).toBeLessThan(0.02);
    expect(Math.abs(re / 20_000 - Math.sqrt(k / (k + 1)))).toBeLessThan(0.01);
    expect(() => createFading({ kind: 'rician', kFactor: -1 }, seededRandom(1))).toThrow(/K factor/);
  });
});

describe('Gauss-Markov fading', () => {
  it('has lag-1 correlation rho = J0(2π fD T), lag-k rho^k, and unit power', () => {
    // Thrown at it: 200 000 symbols at 1000 symbols/s with a 100 Hz Doppler, in back-to-back blocks.
    const fading = new GaussMarkovFading(100, 1000, seededRandom(8));
    const rho = jakesCorrelation(100, 1e-3);
    expect(fading.rho).toBe(rho);
    const h: number[] = [];
    for (let b = 0; b < 200; b++) {
      const g = fading.gains('x', 1000, b); // block b starts at b seconds: exactly after the previous one
      h.push(...g.perSymbol!);
    }
    const n = h.length / 2;
    const corr = (lag: number): number => {
      let sum = 0;
      for (let t = lag; t < n; t++) sum += h[2 * t]! * h[2 * (t - lag)]! + h[2 * t + 1]! * h[2 * (t - lag) + 1]!;
      return sum / (n - lag);
    };
    const power = corr(0);
    expect(Math.abs(power - 1)).toBeLessThan(0.05);
    expect(Math.abs(corr(1) / power - rho)).toBeLessThan(0.01);
    expect(Math.abs(corr(3) / power - rho ** 3)).toBeLessThan(0.02);
  });

  it('decorrelates across a long gap and reports the mean |h|² of the block', () => {
    const fading = new GaussMarkovFading(50, 1e6, seededRandom(9));
    expect(fading.rho).toBeGreaterThan(0.99999);
    const a = fading.gains('a', 100, 0);
    const b = fading.gains('b', 100, 0.0001); // immediately after: nearly the same gain
    expect(Math.hypot(b.first.re - a.first.re, b.first.im - a.first.im)).toBeLessThan(0.05);
    let mean = 0;
    for (let i = 0; i < 100; i++) mean += b.perSymbol![2 * i]! ** 2 + b.perSymbol![2 * i + 1]! ** 2;
    expect(b.meanPower).toBeCloseTo(mean / 100, 6);
    // Over many gaps of 1 s (fD T = 50, J0 ≈ 0.056) consecutive blocks are nearly uncorrelated.
    let sum = 0;
    let prev = b.first;
    for (let i = 1; i <= 5000; i++) {
      const g = fading.gains('c', 1, i);
      sum += g.first.re * prev.re + g.first.im * prev.im;
      prev = g.first;
    }
    expect(Math.abs(sum / 5000)).toBeLessThan(0.1);
  });

  it('refuses a negative Doppler or a zero symbol rate', () => {
    expect(() => new GaussMarkovFading(-1, 1000, seededRandom(1))).toThrow(/Doppler/);
    expect(() => new GaussMarkovFading(1, 0, seededRandom(1))).toThrow(/symbol rate/);
  });
});
