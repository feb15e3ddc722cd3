/**
 * Per-tensor calibration statistics, folded in one sample at a time (nothing is kept but the
 * statistics), for onnxruntime's three static calibration methods (calibrate.py):
 *
 * - MinMax (`MinMaxCalibrater`): the min and max over all samples; with `movingAverage`, the mean
 *   over samples of each sample's min and max (what onnxruntime computes with `CalibMovingAverage`
 *   when, as in `quantize_static`, all samples arrive in one `collect_data` call: its
 *   `averaging_constant` only weighs successive `collect_data` calls). Symmetric: [-a, a], a = max |bound|.
 * - Entropy (`EntropyCalibrater`, 128 bins, 128 quantized bins) and Percentile (`PercentileCalibrater`,
 *   2048 bins, 99.999, symmetric by default): histograms (histogram.ts), then entropy.ts / percentile.ts.
 * - MSE (not in onnxruntime; 2048 bins over [-T, T], asymmetric unless `symmetric`): the range whose
 *   quantizer (`activationType`) has the least expected squared error over the histogram (mse.ts).
 *
 * Two-pass mode (`twoPass`, used when the samples can be iterated twice): the first pass measures the
 * range and the second fills a histogram over exactly the range onnxruntime's `quantize_static` uses
 * (it histograms all samples at once), so the result is onnxruntime's while memory stays bounded
 * (onnxruntime keeps every intermediate output of every sample in memory first). One-pass mode grows
 * the histogram per sample by onnxruntime's per-batch rules (see histogram.ts).
 *
 * Not as onnxruntime: NaN and infinite values are a clear error (onnxruntime fails inside numpy,
 * quantizes with an infinite scale, or skips a NaN in ReduceMin / ReduceMax unless it comes first); `symmetric` makes an Entropy range symmetric (onnxruntime ignores the flag
 * for Entropy); MinMax's `max_intermediate_outputs`, which in onnxruntime discards the samples
 * collected so far without using them, has no equivalent (memory is bounded anyway).
 */
import { AkbError } from '@akb/protocol';
import type { TensorRange } from './types.js';
import { entropyRange } from './entropy.js';
import { firstNonFinite, nonFiniteName } from './finite.js';
import { AbsHistogram, ENTROPY_MAX_BINS, PERCENTILE_MAX_BINS, ValueHistogram } from './histogram.js';
import { pairwiseSumF32 } from './f32.js';
import { mseRange } from './mse.js';
import { percentileRange } from './percentile.js';
import type { QuantType } from '../numerics/qparams.js';

/** The calibration methods of onnxruntime's static quantizer, and MSE (mse.ts). */
export type CalibrationMethod = 'minmax' | 'entropy' | 'percentile' | 'mse';

/** Options with onnxruntime's defaults filled in. */
export interface ResolvedCalibrationOptions {
  method: CalibrationMethod;
  symmetric: boolean;
  percentile: number;
  numBins: number;
  numQuantizedBins: number;
  movingAverage: boolean;
  /** MSE: the activation type the range is chosen for (uint8, or int8 when symmetric, by default). */
  activationType: QuantType;
}

/** Fills onnxruntime's per-method defaults and checks the values; throws a one-line RangeError. */
export function resolveCalibrationOptions(opts: {
  method: CalibrationMethod;
  symmetric?: boolean;
  percentile?: number;
  numBins?: number;
  numQuantizedBins?: number;
  movingAverage?: boolean;
  activationType?: QuantType;
}): ResolvedCalibrationOptions {
  const { method } = opts;
  if (method !== 'minmax' && method !== 'entropy' && method !== 'percentile' && method !== 'mse') {
    throw new RangeError(`unknown calibration method '${String(method)}' (minmax, entropy, percentile or mse)`);
  }
  const symmetric = opts.symmetric ?? method === 'percentile';
  const resolved: ResolvedCalibrationOptions = {
    method,
    symmetric,
    percentile: opts.percentile ?? 99.999,
    numBins: opts.numBins ?? (method === 'percentile' || method === 'mse' ? 2048 : 128),
    numQuantizedBins: opts.numQuantizedBins ?? 128,
    movingAverage: opts.movingAverage ?? false,
    activationType: opts.activationType ?? (symmetric ? 'int8' : 'uint8'),
  };
  if (!(resolved.percentile >= 0 && resolved.percentile <= 100)) {
    throw new RangeError(`percentile must be between 0 and 100, got ${resolved.percentile}`);
  }
  if (!Number.isInteger(resolved.numBins) || resolved.numBins < 1) {
    throw new RangeError(`numBins must be a positive integer, got ${resolved.numBins}`);
  }
  if (!Number.isInteger(resolved.numQuantizedBins) || resolved.numQuantizedBins < 2) {
    throw new RangeError(`numQuantizedBins must be an integer of at least 2, got ${resolved.numQuantizedBins}`);
  }
  if (method === 'entropy' && resolved.numBins < resolved.numQuantizedBins) {
    throw new RangeError(`entropy calibration needs numBins (${resolved.numBins}) >= numQuantizedBins (${resolved.numQuantizedBins})`);
  }
  return resolved;
}

/** Range statistics of the first pass (and of MinMax). */
class RangeStat {
  min = Infinity;
  max = -Infinity;
  minAbs = Infinity;
  /** Each sample's min and max (a few numbers per sample), for the moving average. */
  readonly mins: number[] = [];
  readonly maxs: number[] = [];
  batches = 0;

  add(data: Float32Array, tensor: string): void {
    const bad = firstNonFinite(data);
    if (bad !== -1) throw nonFinite(tensor, data[bad]!);
    let min = Infinity;
    let max = -Infinity;
    let minAbs = Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      const a = v < 0 ? -v : v;
      if (a < minAbs) minAbs = a;
    }
    this.addRange(min, max, minAbs, tensor);
  }

  /** One sample's min, max and min |x| (min > max: the sample held no number, and is skipped). */
  addRange(min: number, max: number, minAbs: number, tensor: string): void {
    if (Number.isNaN(min) || Number.isNaN(max)) throw nonFinite(tensor, NaN);
    if (min > max) return;
    if (!Number.isFinite(min) || !Number.isFinite(max)) throw nonFinite(tensor, Number.isFinite(min) ? max : min);
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
    if (minAbs < this.minAbs) this.minAbs = minAbs;
    this.mins.push(min);
    this.maxs.push(max);
    this.batches++;
  }
  get seen(): boolean {
    return this.batches > 0;
  }
}

function nonFinite(tensor: string, value: number): AkbError {
  return new AkbError('NON_FINITE_ACTIVATION', `tensor '${tensor}' holds ${nonFiniteName(value)}: cannot calibrate a non-finite activation`);
}

/** np.nanmean of float32 values: a float32 pairwise sum divided by the count, stored as float32. */
function meanF32(values: number[]): number {
  return Math.fround(pairwiseSumF32(values) / values.length);
}

function symmetricRange(r: TensorRange): TensorRange {
  const a = Math.max(Math.abs(r.min), Math.abs(r.max));
  return { min: -a, max: a };
}

/** Statistics of one tensor under one method. */
export class TensorCollector {
  private readonly stat = new RangeStat();
  private hist: ValueHistogram | AbsHistogram | undefined;

  constructor(
    readonly tensor: string,
    readonly opts: ResolvedCalibrationOptions,
  ) {}

  /**
   * Whether a fixed-range histogram changes the result (a second pass in two-pass mode). Not for
   * MinMax, nor for Entropy when numBins / 2 == numQuantizedBins / 2 (onnxruntime's 128 / 128): its
   * search then has one candidate, the histogram's whole range [-T, T], which clipped to the data's
   * min and max is exactly MinMax's range, so the histogram pass is skipped.
   */
  get usesHistogram(): boolean {
    const { method, numBins, numQuantizedBins } = this.opts;
    if (method === 'minmax') return false;
    return !(method === 'entropy' && Math.floor(numBins / 2) === Math.floor(numQuantizedBins / 2));
  }

  private get absolute(): boolean {
    return this.opts.method === 'percentile' && this.opts.symmetric;
  }

  /** First pass (two-pass mode), or the only pass of MinMax. */
  observeRange(data: Float32Array): void {
    this.stat.add(data, this.tensor);
  }

  /** First pass from onnxruntime's reductions (probe.ts): the sample's min, max and min |x|. */
  observeRangeValues(min: number, max: number, minAbs: number): void {
    this.stat.addRange(min, max, minAbs, this.tensor);
  }

  /** Whether the range pass needs min |x| (the histogram of |x| starts there). */
  get needsMinAbs(): boolean {
    return this.absolute;
  }

  /** Builds the fixed-range histogram from the first pass's range. */
  startHistogram(): void {
    const s = this.stat;
    if (!s.seen || !this.usesHistogram) return;
    const f = Math.fround;
    if (this.absolute) this.hist = AbsHistogram.fixed(s.minAbs, f(Math.max(Math.abs(s.min), Math.abs(s.max))), this.opts.numBins);
    else this.hist = ValueHistogram.fixed(Math.max(Math.abs(s.min), Math.abs(s.max)), this.opts.numBins);
  }

  /** Second pass (two-pass mode): adds the sample to the fixed-range histogram. */
  observeHistogram(data: Float32Array): void {
    this.hist?.add(data);
  }

  /** One-pass mode: range statistics and a histogram grown per sample by onnxruntime's rules. */
  observeStreaming(data: Float32Array): void {
    this.stat.add(data, this.tensor);
    if (this.opts.method === 'minmax') return; // a growing histogram has more candidates: always kept
    // MSE scores each candidate range over every bin, so it keeps Entropy's smaller cap
    const cap = this.opts.method === 'percentile' ? PERCENTILE_MAX_BINS : ENTROPY_MAX_BINS;
    this.hist ??= this.absolute ? AbsHistogram.growing(this.opts.numBins, cap) : ValueHistogram.growing(this.opts.numBins, cap);
    this.hist.collectBatch(data);
  }

  /** The calibrated range ({0, 0} for a tensor that never held a number). */
  result(): TensorRange {
    const s = this.stat;
    if (!s.seen) return { min: 0, max: 0 };
    const { method, symmetric } = this.opts;
    if (method === 'minmax') {
      const r = this.opts.movingAverage
        ? { min: meanF32(s.mins), max: meanF32(s.maxs) }
        : { min: s.min, max: s.max };
      return symmetric ? symmetricRange(r) : r;
    }
    const h = this.hist;
    if (!h) {
      if (this.usesHistogram) return { min: 0, max: 0 };
      const r = { min: s.min, max: s.max }; // Entropy with a single whole-range candidate (see usesHistogram)
      return symmetric ? symmetricRange(r) : r;
    }
    if (method === 'entropy') {
      const r = entropyRange(h.counts, h.edges, h.dataMin, h.dataMax, this.opts.numQuantizedBins);
      return symmetric ? symmetricRange(r) : r;
    }
    if (method === 'mse') {
      // A tensor with the same min and max in every sample is (almost surely) data-independent, e.g. the
      // FiLM parameters of a fixed-SNR model: a few point masses the histogram's in-bin model does not
      // describe, where a range moved by noise cost 2.3 dB downstream (deepjscc-r12-snr7-dec). MinMax's.
      if (s.batches > 1 && s.mins.every((v) => v === s.min) && s.maxs.every((v) => v === s.max)) {
        return symmetric ? symmetricRange({ min: s.min, max: s.max }) : { min: s.min, max: s.max };
      }
      return mseRange(h.counts, h.edges, h.dataMin, h.dataMax, { type: this.opts.activationType, symmetric });
    }
    return percentileRange(h.counts, h.edges, h.dataMin, h.dataMax, this.opts.percentile, symmetric);
  }

  /** The histogram, for inspection and tests. */
  get histogram(): { counts: Float64Array; edges: Float64Array } | undefined {
    return this.hist && { counts: this.hist.counts, edges: this.hist.edges };
  }
}
