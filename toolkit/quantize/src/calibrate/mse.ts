/**
 * MSE calibration: the activation range [lo, hi] whose quantizer loses least in expected squared error
 * over a histogram of the tensor's values (histogram.ts, bins over [-T, T]). Not an onnxruntime method:
 * MinMax wastes levels on rare extremes, Percentile and Entropy cut by a rule that does not look at
 * the quantizer; this scores each candidate range by what the actual quantizer does to the data.
 *
 * The error of a candidate is computed for the quantizer that will run: `computeQParams` (qparams.ts)
 * turns [lo, hi] into the float32 scale s and the rounded zero point zp exactly as the QDQ rewrite
 * will, and QuantizeLinear then rounds to the grid g_k = (k - zp) s and clamps to the storage type's
 * range (uint8 [0, 255], int8 [-128, 127]: a symmetric int8 range [-127, 127] still stores -128). Within
 * a bin the values are taken as uniform (clipped to the data's min and max at the end bins), and the
 * integral of (x - Q(x))^2 over the bin is exact for that density: partial grid cells at the bin's ends
 * by (x - g)^3 / 3, whole cells s^3 / 12 each, and everything beyond the clamped ends as clipping
 * error. So rounding error inside the range, clipping error outside it and the offset of the rounded
 * zero point are all counted; what is approximated is only the values' spread inside one bin.
 *
 * Candidates (a bounded set, every one containing 0, as qparams widens ranges to contain it):
 * - symmetric: a = T k / 1024, k = 1..1024, T = max |x|;
 * - one-sided data (min >= 0 or max <= 0): the other bound is 0 and the free one takes 1024 steps;
 * - both signs: a 33 x 33 grid of fractions j / 32 of min and max, then alternating 1-D searches of
 *   each bound at 1/1024 of its extent within one coarse step of the best, until neither moves.
 */
import { computeQParams, typeRange, type QuantType } from '../numerics/qparams.js';
import type { TensorRange } from './types.js';

/** The activation quantizer a range is chosen for. */
export interface MseQuantizer {
  type: QuantType;
  symmetric: boolean;
}

/** The histogram's non-empty bins: [a_i, b_i) holding n_i values. */
interface Bins {
  a: Float64Array;
  b: Float64Array;
  n: Float64Array;
  total: number;
}

const FINE_STEPS = 1024;
const COARSE_STEPS = 32;
const MAX_ROUNDS = 16;

function nonEmptyBins(counts: Float64Array, edges: Float64Array, dataMin: number, dataMax: number): Bins {
  const a: number[] = [];
  const b: number[] = [];
  const n: number[] = [];
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    let lo = Math.max(edges[i]!, dataMin);
    let hi = Math.min(edges[i + 1]!, dataMax);
    if (!(hi >= lo)) [lo, hi] = [edges[i]!, edges[i + 1]!];
    a.push(lo);
    b.push(hi);
    n.push(c);
    total += c;
  }
  return { a: Float64Array.from(a), b: Float64Array.from(b), n: Float64Array.from(n), total };
}

/**
 * Expected squared error per value of quantizing the histogram's data with the range [lo, hi] (see the
 * file comment). Exported for tests.
 */
export function histogramMse(counts: Float64Array, edges: Float64Array, dataMin: number, dataMax: number, lo: number, hi: number, q: MseQuantizer): number {
  return binsMse(nonEmptyBins(counts, edges, dataMin, dataMax), lo, hi, q);
}

function binsMse(bins: Bins, lo: number, hi: number, q: MseQuantizer): number {
  if (bins.total === 0) return 0;
  const { scale: s, zeroPoint: zp } = computeQParams(lo, hi, q.type, { symmetric: q.symmetric });
  const { qmin, qmax } = typeRange(q.type);
  const cell = (x: number): number => {
    const k = Math.round(x / s) + zp;
    return k < qmin ? qmin : k > qmax ? qmax : k;
  };
  const cube = (u: number, v: number, g: number): number => ((v - g) ** 3 - (u - g) ** 3) / 3;
  const whole = (s * s * s) / 12;
  let sum = 0;
  for (let i = 0; i < bins.n.length; i++) {
    const a = bins.a[i]!;
    const b = bins.b[i]!;
    const n = bins.n[i]!;
    const ka = cell(a);
    const kb = cell(b);
    const ga = (ka - zp) * s;
    if (b - a <= 0) {
      sum += n * (a - ga) ** 2; // all values at one point
      continue;
    }
    let integral: number;
    if (ka === kb) integral = cube(a, b, ga);
    else {
      const gb = (kb - zp) * s;
      integral = cube(a, ga + s / 2, ga) + cube(gb - s / 2, b, gb) + (kb - ka - 1) * whole;
    }
    sum += (n / (b - a)) * integral;
  }
  return sum / bins.total;
}

/** The best of `candidates` ([lo, hi] pairs) and its error. */
function best(bins: Bins, q: MseQuantizer, candidates: Iterable<[number, number]>): { lo: number; hi: number; err: number } {
  let top = { lo: 0, hi: 0, err: Infinity };
  for (const [lo, hi] of candidates) {
    if (lo === 0 && hi === 0) continue;
    const err = binsMse(bins, lo, hi, q);
    if (err < top.err) top = { lo, hi, err };
  }
  return top;
}

function* steps(extent: number, count: number, from = 1, to = count): Generator<number> {
  for (let k = Math.max(from, 0); k <= Math.min(to, count); k++) yield (extent * k) / count;
}

/**
 * The range of least expected squared error for a histogram (counts over float32 edges, the data's min
 * and max) and the quantizer that will use it. Always contains 0; {0, 0} for data that is all zeros.
 */
export function mseRange(counts: Float64Array, edges: Float64Array, dataMin: number, dataMax: number, q: MseQuantizer): TensorRange {
  const lo0 = Math.min(dataMin, 0);
  const hi0 = Math.max(dataMax, 0);
  if (lo0 === 0 && hi0 === 0) return { min: 0, max: 0 };
  const bins = nonEmptyBins(counts, edges, dataMin, dataMax);

  if (q.symmetric) {
    const t = Math.max(-lo0, hi0);
    const { hi } = best(bins, q, [...steps(t, FINE_STEPS)].map((a) => [-a, a] as [number, number]));
    return { min: -hi, max: hi };
  }
  if (lo0 === 0) return { min: 0, max: best(bins, q, [...steps(hi0, FINE_STEPS)].map((h) => [0, h] as [number, number])).hi };
  if (hi0 === 0) return { min: best(bins, q, [...steps(lo0, FINE_STEPS)].map((l) => [l, 0] as [number, number])).lo, max: 0 };

  // Both signs: a coarse grid, then each bound alone at the fine step around the best, until stable.
  const grid: [number, number][] = [];
  for (const l of steps(lo0, COARSE_STEPS, 0)) for (const h of steps(hi0, COARSE_STEPS, 0)) grid.push([l, h]);
  let top = best(bins, q, grid);
  const ratio = FINE_STEPS / COARSE_STEPS;
  let kLo = Math.round((top.lo / lo0) * FINE_STEPS);
  let kHi = Math.round((top.hi / hi0) * FINE_STEPS);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const hiStep = best(bins, q, [...steps(hi0, FINE_STEPS, kHi - ratio, kHi + ratio)].map((h) => [top.lo, h] as [number, number]));
    const loStep = best(bins, q, [...steps(lo0, FINE_STEPS, kLo - ratio, kLo + ratio)].map((l) => [l, hiStep.hi] as [number, number]));
    const moved = loStep.lo !== top.lo || hiStep.hi !== top.hi;
    if (loStep.err <= top.err) top = loStep;
    kLo = Math.round((top.lo / lo0) * FINE_STEPS);
    kHi = Math.round((top.hi / hi0) * FINE_STEPS);
    if (!moved) break;
  }
  return { min: top.lo, max: top.hi };
}
