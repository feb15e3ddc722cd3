/**
 * Adaptive rounding of one row against brute force over all 2^K floor/ceil choices (K = 10), on
 * random positive semi-definite H built from random patches: the result is never worse than round
 * to nearest, no single flip improves it (coordinate descent's stopping rule, checked independently),
 * and it comes close to the optimum: patches with a weakly shared component (weight 0.5) within
 * 1.25x on all 20 seeds (measured worst 1.13x, 16 of 20 optimal), strongly correlated ones (shared
 * weight 2, round to nearest up to 9.3x the optimum) within 2x (measured worst 1.74x).
 */
import { describe, expect, it } from 'vitest';
import { quadraticError, roundRow, type RowProblem } from './round-row.js';
import { uniformValues } from './test-models.js';

const K = 10;
const SCALE = 0.1;

/** A row problem: weights uniform in [-1, 1], H = mean of x x^T over 3K patches x (correlated by a shared term). */
function problem(seed: number, shared = 2): RowProblem {
  const w = Float64Array.from(uniformValues(K, seed, -1, 1));
  const raw = uniformValues(3 * K * (K + 1), seed + 1000, -1, 1);
  const H = new Float64Array(K * K);
  for (let n = 0; n < 3 * K; n++) {
    const common = raw[n * (K + 1) + K]!;
    const x = Array.from({ length: K }, (_, k) => raw[n * (K + 1) + k]! + shared * common);
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) H[i * K + j]! += (x[i]! * x[j]!) / (3 * K);
  }
  return {
    w,
    deq: (_k, q) => Math.fround(q * Math.fround(SCALE)),
    qLow: new Int32Array(K).fill(-127),
    qHigh: new Int32Array(K).fill(127),
    position: w.map((v) => v / Math.fround(SCALE)),
    fixed: new Uint8Array(K),
    H,
  };
}

function errorOf(p: RowProblem, q: ArrayLike<number>): number {
  return quadraticError(p.H, Float64Array.from(p.w, (v, k) => p.deq(k, q[k]!) - v));
}

describe('roundRow', () => {
  it.each([
    [0.5, 1.25],
    [2, 2],
  ])('beats round to nearest and comes close to the brute-force optimum (shared weight %d: within %dx)', (shared, bound) => {
    let worst = 1;
    for (let seed = 1; seed <= 20; seed++) {
      const p = problem(seed, shared);
      const nearest = Int32Array.from(p.position, (x) => Math.round(x));
      const r = roundRow(p, nearest);
      expect(r.before).toBeCloseTo(errorOf(p, nearest), 10);
      expect(r.after).toBeCloseTo(errorOf(p, r.q), 10);
      expect(r.after).toBeLessThanOrEqual(r.before);
      let best = Infinity;
      for (let mask = 0; mask < 1 << K; mask++) {
        const q = Array.from(p.position, (x, k) => Math.floor(x) + ((mask >> k) & 1));
        best = Math.min(best, errorOf(p, q));
      }
      for (let k = 0; k < K; k++) {
        const flipped = Array.from(r.q);
        flipped[k] = Math.floor(p.position[k]!) * 2 + 1 - flipped[k]!;
        expect(errorOf(p, flipped)).toBeGreaterThanOrEqual(r.after - 1e-12);
      }
      expect(r.after).toBeGreaterThanOrEqual(best - 1e-12);
      worst = Math.max(worst, r.after / best);
    }
    expect(worst).toBeLessThan(bound);
  });

  it('keeps fixed elements and stays inside the allowed integers', () => {
    const p = problem(3);
    p.fixed[0] = 1;
    const nearest = Int32Array.from(p.position, (x) => Math.round(x));
    p.qHigh.set(nearest);
    const r = roundRow(p, nearest);
    expect(r.q[0]).toBe(nearest[0]);
    for (let k = 0; k < K; k++) expect(r.q[k]).toBeLessThanOrEqual(nearest[k]!);
  });

  it('stops when told to and keeps round to nearest', () => {
    const p = problem(5);
    const nearest = Int32Array.from(p.position, (x) => Math.round(x));
    const r = roundRow(p, nearest, { shouldStop: () => true });
    expect([...r.q]).toEqual([...nearest]);
    expect(r.sweeps).toBe(0);
  });
});
