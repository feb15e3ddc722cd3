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
 * Candidates (a bounded set, every one containing 0, as qparams widens ranges to contain it): the free
 * bounds are fractions k / 1024 of the data's extent: a = T k / 1024 (symmetric, T = max |x|), hi (data
 * >= 0; lo = 0), lo (data <= 0; hi = 0), or both lo and hi (data of both signs). First a coarse grid,
 * fractions j / 32 (32 candidates, or 33 x 33), scored on the histogram merged to at most 256 bins;
 * then each free bound in turn at the fine step within one coarse step of the best, scored on all
 * bins, until neither moves (at most 16 rounds). The pick is kept only if its expected error is at
 * least 1% below that of the data's full range [min(min, 0), max(max, 0)] (MinMax's range).
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
/** The coarse grid scores candidates on the histogram merged down to this many bins (5x faster, measured). */
const COARSE_BINS = 256;
const MAX_ROUNDS = 16;
/**
 * A clipped range must lower the expected error by this fraction, else the data's own range is kept.
 * Measured on deepjscc-r12-snr7-dec: a FiLM tensor of 64 constants clipped from 0.518 to 0.515 (an
 * expected error within noise of the full range's) cost 2.3 dB of output SQNR downstream.
 */
const CLIP_GAIN = 0.01;

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
  const inv = 1 / s;
  const half = s / 2;
  const whole = (s * s * s) / 12;
  const { a: as, b: bs, n: ns } = bins;
  let sum = 0;
  for (let i = 0; i < ns.length; i++) {
    const a = as[i]!;
    const b = bs[i]!;
    const n = ns[i]!;
    // grid cells of a and b: round to nearest, clamped to the storage range
    let ka = Math.round(a * inv) + zp;
    ka = ka < qmin ? qmin : ka > qmax ? qmax : ka;
    let kb = Math.round(b * inv) + zp;
    kb = kb < qmin ? qmin : kb > qmax ? qmax : kb;
    const ga = (ka - zp) * s;
    const da = a - ga;
    if (b <= a) {
      sum += n * da * da; // all values at one point
      continue;
    }
    // integral of (x - g)^2 from u to v = ((v - g)^3 - (u - g)^3) / 3
    let integral: number;
    if (ka === kb) {
      const db = b - ga;
      integral = (db * db * db - da * da * da) / 3;
    } else {
      const gb = (kb - zp) * s;
      const db = b - gb;
      integral = (half * half * half - da * da * da + db * db * db + half * half * half) / 3 + (kb - ka - 1) * whole;
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

/** Neighbouring bins merged in pairs until at most `maxBins` remain (the last edge kept). */
function merged(counts: Float64Array, edges: Float64Array, maxBins: number): { counts: Float64Array; edges: Float64Array } {
  while (counts.length > maxBins) {
    const n = Math.ceil(counts.length / 2);
    const c = new Float64Array(n);
    const e = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      c[i] = counts[2 * i]! + (counts[2 * i + 1] ?? 0);
      e[i] = edges[2 * i]!;
    }
    e[n] = edges[edges.length - 1]!;
    counts = c;
    edges = e;
  }
  return { counts, edges };
}

/**
 * One search: `range(u, v)` maps the free parameters (fractions of the extent, in fine steps of
 * 1 / FINE_STEPS; v unused for a 1-D search) to a candidate. A coarse grid on merged bins, then
 * alternating 1-D searches at the fine step within one coarse step, on all bins, until nothing moves.
 */
function search(fine: Bins, coarse: Bins, q: MseQuantizer, twoD: boolean, range: (u: number, v: number) => [number, number]): [number, number] {
  const ratio = FINE_STEPS / COARSE_STEPS;
  const grid: [number, number][] = [];
  const keys: [number, number][] = [];
  for (let j = twoD ? 0 : 1; j <= COARSE_STEPS; j++) {
    for (let k = twoD ? 0 : 1; k <= (twoD ? COARSE_STEPS : 1); k++) {
      grid.push(range(j * ratio, k * ratio));
      keys.push([j * ratio, k * ratio]);
    }
  }
  const first = best(coarse, q, grid);
  let at = keys[grid.findIndex(([l, h]) => l === first.lo && h === first.hi)] ?? [FINE_STEPS, FINE_STEPS];
  let err = binsMse(fine, ...range(at[0], at[1]), q);
  const window = (c: number): number[] => {
    const out: number[] = [];
    for (let k = Math.max(0, c - ratio); k <= Math.min(FINE_STEPS, c + ratio); k++) out.push(k);
    return out;
  };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let moved = false;
    for (const axis of twoD ? [0, 1] : [0]) {
      for (const k of window(at[axis]!)) {
        const cand: [number, number] = axis === 0 ? [k, at[1]] : [at[0], k];
        const r = range(cand[0], cand[1]);
        if (r[0] === 0 && r[1] === 0) continue;
        const e = binsMse(fine, r[0], r[1], q);
        if (e < err) {
          err = e;
          at = cand;
          moved = true;
        }
      }
    }
    if (!moved) break;
  }
  return range(at[0], at[1]);
}

/**
 * The range of least expected squared error for a histogram (counts over float32 edges, the data's min
 * and max) and the quantizer that will use it. Always contains 0; {0, 0} for data that is all zeros.
 */
export function mseRange(counts: Float64Array, edges: Float64Array, dataMin: number, dataMax: number, q: MseQuantizer): TensorRange {
  const lo0 = Math.min(dataMin, 0);
  const hi0 = Math.max(dataMax, 0);
  if (lo0 === 0 && hi0 === 0) return { min: 0, max: 0 };
  const fine = nonEmptyBins(counts, edges, dataMin, dataMax);
  const m = merged(counts, edges, COARSE_BINS);
  const coarse = nonEmptyBins(m.counts, m.edges, dataMin, dataMax);
  const at = (extent: number, k: number): number => (extent * k) / FINE_STEPS;
  let r: [number, number];
  if (q.symmetric) {
    const t = Math.max(-lo0, hi0);
    r = search(fine, coarse, q, false, (u) => [-at(t, u), at(t, u)]);
  } else if (lo0 === 0) r = search(fine, coarse, q, false, (u) => [0, at(hi0, u)]);
  else if (hi0 === 0) r = search(fine, coarse, q, false, (u) => [at(lo0, u), 0]);
  else r = search(fine, coarse, q, true, (u, v) => [at(lo0, u), at(hi0, v)]);
  // Clip only when it pays: within CLIP_GAIN of the full range's error the difference is the grid's
  // luck on a few values (e.g. a tensor of 64 per-channel constants), not a property of the data.
  const t = Math.max(-lo0, hi0);
  const full: [number, number] = q.symmetric ? [-t, t] : [lo0, hi0];
  if (binsMse(fine, r[0], r[1], q) > (1 - CLIP_GAIN) * binsMse(fine, full[0], full[1], q)) r = full;
  return { min: r[0], max: r[1] };
}
