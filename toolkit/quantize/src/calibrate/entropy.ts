/**
 * The KL-divergence threshold search of onnxruntime's `HistogramCollector.get_entropy_threshold`
 * (calibrate.py), reproduced step by step with its float32 arithmetic (see f32.ts) so the chosen
 * range is the one onnxruntime chooses.
 *
 * For each candidate i from `numQuantizedBins / 2` to the zero bin (`bins / 2`), the slice
 * [zero - i, zero + i + 1) is the reference p with the outliers folded into its end bins; the slice
 * merged into `numQuantizedBins` groups and spread back over the group's bins is q; both are smoothed
 * (zeros become 1e-4) and compared by KL(p || q); the least divergence wins, and its edges, clipped to
 * the data's min and max, are the range.
 *
 * Kept as onnxruntime does it, although it differs from TensorRT's published algorithm: q is spread
 * over all bins of a group (also where p is 0) and truncated to an integer; leftover bins past
 * `numQuantizedBins * groupSize` count in the last group but get q = 0; the groups' divisor counts
 * p's non-zero bins including the folded outliers. Note that onnxruntime's defaults (128 histogram
 * bins, 128 quantized bins, and `quantize_static` passes no way to change them) leave exactly one
 * candidate, the whole range, so its Entropy method then equals MinMax; more bins (`numBins`) make the
 * search real.
 *
 * Not as onnxruntime: `smooth_distribution` asserting on a sparse histogram (more than 10,000 zero bins
 * per non-zero bin) becomes an infinite divergence for that candidate instead of a crash, and fewer
 * histogram bins than quantized bins is a clear error instead of numpy's negative-size one.
 */
import { pairwiseSumF32 } from './f32.js';

const f = Math.fround;
const EPS = 0.0001;

/**
 * `smooth_distribution` of p[0, len) into out: zeros become eps, non-zeros lose eps * zeros / nonzeros,
 * in float32. False where onnxruntime returns None (all zeros) or would assert (eps1 >= 1).
 */
function smoothInto(p: Float64Array, len: number, out: Float32Array): boolean {
  let zeros = 0;
  for (let i = 0; i < len; i++) if (p[i] === 0) zeros++;
  const nonzeros = len - zeros;
  if (nonzeros === 0) return false;
  const eps1 = (EPS * zeros) / nonzeros;
  if (!(eps1 < 1)) return false;
  const addZero = f(EPS);
  const addNonzero = f(-eps1);
  for (let i = 0; i < len; i++) out[i] = f(f(p[i]!) + (p[i] === 0 ? addZero : addNonzero));
  return true;
}

/** `entropy(p, q)`: KL(p || q) of the normalized float32 distributions over [0, len), summed like numpy. */
function klDivergence(p: Float32Array, q: Float32Array, len: number, terms: Float32Array): number {
  const sp = pairwiseSumF32(p, 0, len);
  const sq = pairwiseSumF32(q, 0, len);
  for (let i = 0; i < len; i++) {
    const pk = f(p[i]! / sp);
    const qk = f(q[i]! / sq);
    terms[i] = pk > 0 && qk > 0 ? f(pk * f(Math.log(f(pk / qk)))) : pk === 0 ? 0 : Infinity;
  }
  return pairwiseSumF32(terms, 0, len);
}

/**
 * The range [lo, hi] of least KL divergence for a histogram over [-T, T] with the zero bin in the middle.
 * `min` and `max` are the data's extremes; the result never exceeds them.
 */
export function entropyRange(
  counts: Float64Array,
  edges: Float64Array,
  min: number,
  max: number,
  numQuantizedBins: number,
): { min: number; max: number } {
  const bins = counts.length;
  const zero = Math.floor(bins / 2);
  const halfQ = Math.floor(numQuantizedBins / 2);
  if (zero < halfQ) {
    throw new RangeError(`entropy calibration needs at least ${numQuantizedBins} histogram bins (numQuantizedBins), got ${bins}`);
  }
  const prefix = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) prefix[i + 1] = prefix[i]! + counts[i]!;
  const total = prefix[bins]!;

  let best = Infinity;
  let bestStart = zero - halfQ;
  let bestEnd = Math.min(zero + halfQ + 1, bins);
  const p = new Float64Array(bins);
  const q = new Float64Array(bins);
  const ps = new Float32Array(bins);
  const qs = new Float32Array(bins);
  const terms = new Float32Array(bins);
  for (let i = halfQ; i <= zero; i++) {
    const start = zero - i;
    const end = Math.min(zero + i + 1, bins);
    const len = end - start;
    p.set(counts.subarray(start, end));
    p[0] = p[0]! + prefix[start]!;
    p[len - 1] = p[len - 1]! + (total - prefix[end]!);

    const group = Math.floor(len / numQuantizedBins);
    q.fill(0, 0, len);
    for (let g = 0; g < numQuantizedBins; g++) {
      const a = g * group;
      const b = a + group;
      let merged = prefix[start + b]! - prefix[start + a]!;
      if (g === numQuantizedBins - 1) merged += prefix[end]! - prefix[start + numQuantizedBins * group]!;
      let norm = 0;
      for (let k = a; k < b; k++) if (p[k] !== 0) norm++;
      if (norm !== 0) q.fill(Math.trunc(merged / norm), a, b);
    }
    const div = smoothInto(p, len, ps) && smoothInto(q, len, qs) ? klDivergence(ps, qs, len, terms) : Infinity;
    if (div < best) {
      best = div;
      bestStart = start;
      bestEnd = end;
    }
  }
  let lo = edges[bestStart]!;
  let hi = edges[bestEnd]!;
  if (lo < min) lo = min;
  if (hi > max) hi = max;
  return { min: lo, max: hi };
}
