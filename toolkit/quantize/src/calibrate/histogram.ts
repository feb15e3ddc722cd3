/**
 * Streaming histograms of activations, as onnxruntime's `HistogramCollector` builds them
 * (onnxruntime/python/tools/quantization/calibrate.py), with bounded memory.
 *
 * Two shapes, as in onnxruntime:
 * - `ValueHistogram` (`collect_value`, Entropy and asymmetric Percentile): bins over [-T, T],
 *   T = max |x|, so the zero bin sits in the middle;
 * - `AbsHistogram` (`collect_absolute_value`, symmetric Percentile): bins over |x|, from the smallest
 *   to the largest |x|.
 *
 * Each can be used two ways:
 * - `fixed(...)` then `add(batch)` per sample: bins over a range known in advance (the calibrator's
 *   first pass measured it). This is what onnxruntime's `quantize_static` computes, because it hands
 *   all calibration outputs to one `collect()` call (`np.histogram` over every sample stacked
 *   together); here the same histogram is built one sample at a time, without keeping the samples.
 * - `collectBatch(batch)`: onnxruntime's growth rules when `collect()` is called once per batch (its
 *   `CalibStridedMinMax` mode): a batch beyond the range adds whole bins of the first batch's width on
 *   both sides (Value) or at the top (Abs), and the old counts are added by position.
 *   Better than onnxruntime here: (1) bins never exceed `maxBins` (a later batch 1000x wider than
 *   the first makes onnxruntime allocate ~128,000 bins, and its entropy search is quadratic in them):
 *   pairs of bins are merged instead, so results differ from onnxruntime's only past the cap; (2) `AbsHistogram` adds bins below its range for values smaller than
 *   the first batch's smallest |x|, which onnxruntime silently drops; (3) NaN is ignored (onnxruntime
 *   fails on it in `np.histogram` for the absolute histogram); (4) empty batches are skipped.
 *
 * Bin edges are float32 values computed as numpy computes them (see f32.ts), and a value lands in
 * bin i when edge[i] <= x < edge[i+1] (the last bin includes its right edge), as `np.histogram` does,
 * so the counts equal onnxruntime's.
 */
import { floorDivF32, linspaceF32 } from './f32.js';

const f = Math.fround;

/**
 * Caps on the number of bins reached by growth (never below twice the initial count): the entropy
 * search is quadratic in the bin count, the percentile search linear.
 */
export const ENTROPY_MAX_BINS = 8192;
export const PERCENTILE_MAX_BINS = 65536;

/** Min and max of a batch ignoring NaN; undefined when it has no number. */
export function batchMinMax(data: Float32Array): { min: number; max: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : undefined;
}

/** Adds the values (or their absolute values) that fall within [edges[0], edges[n]] to `counts`. */
export function binValues(counts: Float64Array, edges: Float64Array, data: Float32Array, abs: boolean): void {
  const n = counts.length;
  const last = n - 1;
  const e0 = edges[0]!;
  const eN = edges[n]!;
  const scale = n / (eN - e0);
  const len = data.length;
  for (let k = 0; k < len; k++) {
    let x = data[k]!;
    if (abs && x < 0) x = -x;
    if (!(x >= e0 && x <= eN)) continue; // outside, or NaN
    // a first guess from the uniform width, then the edges decide (as np.histogram's correction does)
    let i = ((x - e0) * scale) | 0;
    if (i > last) i = last;
    if (i > 0 && x < edges[i]!) {
      do i--;
      while (i > 0 && x < edges[i]!);
    } else {
      while (i < last && x >= edges[i + 1]!) i++;
    }
    counts[i]!++;
  }
}

/** Float32 edges of `np.histogram(data, bins, range=(lo, hi))`, with numpy's widening of an empty range. */
function uniformEdges(lo: number, hi: number, bins: number): Float64Array {
  if (lo === hi) {
    lo = f(lo - 0.5);
    hi = f(hi + 0.5);
  }
  return Float64Array.from(linspaceF32(lo, hi, bins + 1));
}

/** The shared state: counts, float32 edges, and the data's min and max (NaN ignored). */
abstract class HistogramBase {
  counts: Float64Array;
  edges: Float64Array;
  min = Infinity;
  max = -Infinity;
  protected constructor(
    counts: Float64Array,
    edges: Float64Array,
    readonly maxBins: number,
  ) {
    this.counts = counts;
    this.edges = edges;
  }
  /** Data min (0 when nothing was seen, as onnxruntime reports an empty tensor). */
  get dataMin(): number {
    return this.min <= this.max ? this.min : 0;
  }
  /** Data max (0 when nothing was seen). */
  get dataMax(): number {
    return this.min <= this.max ? this.max : 0;
  }
  protected track(mm: { min: number; max: number }): void {
    if (mm.min < this.min) this.min = mm.min;
    if (mm.max > this.max) this.max = mm.max;
  }
}

/** Histogram over [-T, T] (onnxruntime's `collect_value` / `merge_histogram`). */
export class ValueHistogram extends HistogramBase {
  /** T as onnxruntime stores it (0 for an all-zero tensor although its edges span [-0.5, 0.5]). */
  threshold = 0;
  private started = false;

  private constructor(
    readonly initialBins: number,
    maxBins: number,
  ) {
    super(new Float64Array(initialBins), new Float64Array(initialBins + 1), Math.max(maxBins, 2 * initialBins));
  }

  /** Bins over [-T, T] with T known in advance (T = max |x| over all calibration data). */
  static fixed(threshold: number, bins: number): ValueHistogram {
    const h = new ValueHistogram(bins, bins);
    h.threshold = f(threshold);
    h.edges = uniformEdges(-h.threshold, h.threshold, bins);
    h.started = true;
    return h;
  }

  /** An empty histogram that grows with `collectBatch`, starting with `bins` bins. */
  static growing(bins: number, maxBins: number): ValueHistogram {
    return new ValueHistogram(bins, maxBins);
  }

  /** Adds a batch within the fixed range (values outside it are dropped, as np.histogram drops them). */
  add(data: Float32Array): void {
    const mm = batchMinMax(data);
    if (!mm) return;
    this.track(mm);
    binValues(this.counts, this.edges, data, false);
  }

  /** onnxruntime's per-batch collect: grows the range by whole bins when the batch exceeds it. */
  collectBatch(data: Float32Array): void {
    const mm = batchMinMax(data);
    if (!mm) return;
    const t = f(Math.max(Math.abs(mm.min), Math.abs(mm.max)));
    if (!this.started) {
      this.started = true;
      this.threshold = t;
      this.edges = uniformEdges(-t, t, this.initialBins);
    } else if (t > this.threshold) {
      if (this.threshold === 0) {
        this.edges = uniformEdges(-t, t, this.counts.length);
        this.threshold = t;
      } else {
        this.grow(t);
      }
    }
    this.track(mm);
    binValues(this.counts, this.edges, data, false);
  }

  private grow(t: number): void {
    let n = this.counts.length;
    let stride = f(f(2 * this.threshold) / n);
    let half = floorDivF32(f(t - this.threshold), stride) + 1;
    while (n + 2 * half > this.maxBins) {
      this.coarsen();
      n = this.counts.length;
      stride = f(f(2 * this.threshold) / n);
      half = floorDivF32(f(t - this.threshold), stride) + 1;
    }
    const old = this.counts;
    this.threshold = f(f(half * stride) + this.threshold);
    this.counts = new Float64Array(n + 2 * half);
    this.counts.set(old, half);
    this.edges = uniformEdges(-this.threshold, this.threshold, this.counts.length);
  }

  /** Halves the bin count, merging neighbours; pads one bin per side first so no pair straddles 0. */
  private coarsen(): void {
    let counts = this.counts;
    if ((counts.length / 2) % 2 === 1) {
      const padded = new Float64Array(counts.length + 2);
      padded.set(counts, 1);
      this.threshold = f(this.threshold + f(f(2 * this.threshold) / counts.length));
      counts = padded;
    }
    const merged = new Float64Array(counts.length / 2);
    for (let i = 0; i < merged.length; i++) merged[i] = counts[2 * i]! + counts[2 * i + 1]!;
    this.counts = merged;
    this.edges = uniformEdges(-this.threshold, this.threshold, merged.length);
  }
}

/** Histogram of |x| (onnxruntime's `collect_absolute_value`). */
export class AbsHistogram extends HistogramBase {
  private started = false;

  private constructor(
    readonly initialBins: number,
    maxBins: number,
  ) {
    super(new Float64Array(initialBins), new Float64Array(initialBins + 1), Math.max(maxBins, 2 * initialBins));
  }

  /** Bins over [min |x|, max |x|] known in advance (np.histogram's automatic range over all the data). */
  static fixed(minAbs: number, maxAbs: number, bins: number): AbsHistogram {
    const h = new AbsHistogram(bins, bins);
    h.edges = uniformEdges(f(minAbs), f(maxAbs), bins);
    h.started = true;
    return h;
  }

  /** An empty histogram that grows with `collectBatch`. */
  static growing(bins: number, maxBins: number): AbsHistogram {
    return new AbsHistogram(bins, maxBins);
  }

  /** Adds a batch within the fixed range. */
  add(data: Float32Array): void {
    const mm = batchMinMax(data);
    if (!mm) return;
    this.track(mm);
    binValues(this.counts, this.edges, data, true);
  }

  /** onnxruntime's per-batch collect: bins of the same width appended up to the batch's max |x|. */
  collectBatch(data: Float32Array): void {
    const mm = batchMinMax(data);
    if (!mm) return;
    const { lo, hi } = absRange(data);
    if (!this.started) {
      this.started = true;
      this.edges = uniformEdges(lo, hi, this.initialBins);
    } else {
      if (hi > this.edges[this.edges.length - 1]!) this.extendUp(hi);
      if (lo < this.edges[0]!) this.extendDown(lo);
    }
    this.track(mm);
    // numpy counts this batch against the float64 edges of np.arange, then stores them as float32
    binValues(this.counts, this.edges, data, true);
    this.edges = this.edges.map(f);
  }

  private width(): number {
    return f(this.edges[1]! - this.edges[0]!);
  }

  /** np.arange(last + w, amax + w, w) (a float64 array from float32 scalars), stored back as float32 after counting. */
  private extendUp(amax: number): void {
    const w = this.width();
    const last = this.edges[this.edges.length - 1]!;
    const start = f(last + w);
    const stop = f(amax + w);
    let count = Math.max(0, Math.ceil(f(f(stop - start) / w)));
    const delta = f(start + w) - start; // numpy: second value in float32, then start + i * delta in float64
    // not in onnxruntime, whose last edge can round below amax and drop it: one more bin then
    while (count > 0 && start + (count - 1) * delta < amax) count++;
    if (this.counts.length + count > this.maxBins && this.counts.length >= 2) {
      this.coarsen();
      this.extendUp(amax);
      return;
    }
    const edges = new Float64Array(this.edges.length + count);
    edges.set(this.edges);
    for (let i = 0; i < count; i++) edges[this.edges.length + i] = start + i * delta;
    const counts = new Float64Array(edges.length - 1);
    counts.set(this.counts);
    this.edges = edges;
    this.counts = counts;
  }

  /** Not in onnxruntime (which drops these values): bins of the same width prepended down to amin. */
  private extendDown(amin: number): void {
    const w = this.width();
    const first = this.edges[0]!;
    let count = Math.ceil((first - amin) / w);
    while (f(first - count * w) > amin) count++; // float32 rounding must not leave amin outside
    if (this.counts.length + count > this.maxBins && this.counts.length >= 2) {
      this.coarsen();
      this.extendDown(amin);
      return;
    }
    const edges = new Float64Array(this.edges.length + count);
    for (let i = 0; i < count; i++) edges[i] = f(first - (count - i) * w);
    edges.set(this.edges, count);
    const counts = new Float64Array(edges.length - 1);
    counts.set(this.counts, count);
    this.edges = edges;
    this.counts = counts;
  }

  /** Merges neighbouring bins (every other edge kept), padding one bin at the top when the count is odd. */
  private coarsen(): void {
    let counts = this.counts;
    let edges = this.edges;
    if (counts.length % 2 === 1) {
      const w = this.width();
      counts = Float64Array.from([...counts, 0]);
      edges = Float64Array.from([...edges, f(edges[edges.length - 1]! + w)]);
    }
    const merged = new Float64Array(counts.length / 2);
    const kept = new Float64Array(merged.length + 1);
    for (let i = 0; i < merged.length; i++) {
      merged[i] = counts[2 * i]! + counts[2 * i + 1]!;
      kept[i] = edges[2 * i]!;
    }
    kept[merged.length] = edges[edges.length - 1]!;
    this.counts = merged;
    this.edges = kept;
  }
}

/** min and max of |x| over the batch, NaN ignored (the batch has at least one number). */
function absRange(data: Float32Array): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  return { lo, hi };
}
