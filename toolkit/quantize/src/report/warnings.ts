/**
 * Numbers in a model that quantize to garbage, found before they do, and named: a warning on stderr and
 * in the report for each.
 *
 * - **Weights** (float initializers and Constant values, subgraphs' too): one holding NaN or an
 *   infinity; or one whose largest magnitude is above `ABSURD_WEIGHT` (1e6) and more than
 *   `WEIGHT_OUTLIER_RATIO` (10^4) times the median of the other weights' largest magnitudes (every
 *   weight over 1e6 when the model has no other). A flipped high exponent bit multiplies a weight by
 *   2^128 (the DQN policy's 1.4e-4 became 4.7e34): the float model still runs, but its activations reach
 *   1e34, their int8 scales 1e32, and every ordinary value downstream quantizes to zero.
 * - **Activations**: a calibrated range reaching beyond ±`ABSURD_ACTIVATION` (1e6): an 8-bit step is
 *   then at least 1e6 / 127 ≈ 7.9e3.
 *
 * The thresholds sit far above what trained networks hold (the zoo's float initializers peak at 1.0e3,
 * an index ramp of the AKB models, its trained weights below 5; the Deep JSCC encoders' activations reach
 * 1.1e5, where the power normalization sums 512 squares) and far below what a flipped high exponent bit
 * gives (a factor 2^64 or more).
 */
import type { TensorRange } from '../calibrate/types.js';
import type { QuantType } from '../numerics/qparams.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Graph, type Model, type TensorProto } from '../onnx/types.js';

/** A weight magnitude above which a weight is suspicious when the rest of the model's are small. */
export const ABSURD_WEIGHT = 1e6;
/** How many times the median of the other weights' largest magnitudes an absurd weight must be. */
export const WEIGHT_OUTLIER_RATIO = 1e4;
/** A calibrated activation bound beyond this magnitude is reported. */
export const ABSURD_ACTIVATION = 1e6;

/** One warning of the report: what it is about and a line for a person. */
export interface ModelWarning {
  /**
   * 'calibration': a choice made about the calibration data (e.g. too few rows for a method).
   * 'kernels': onnxruntime's integer kernels on this CPU lose far more than the QDQ reference semantics.
   */
  kind: 'weight' | 'activation' | 'calibration' | 'kernels';
  tensor: string;
  message: string;
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16]);

/** Float weights of a graph and its subgraphs: initializers and Constant values, by name. */
function floatWeights(g: Graph, out: { name: string; tensor: TensorProto }[] = []): { name: string; tensor: TensorProto }[] {
  for (const t of g.initializer) if (FLOAT_TYPES.has(t.dataType)) out.push({ name: t.name, tensor: t });
  for (const n of g.node) {
    for (const a of n.attribute) {
      if (n.opType === 'Constant' && a.name === 'value' && a.t && FLOAT_TYPES.has(a.t.dataType)) out.push({ name: n.output[0] ?? a.t.name, tensor: a.t });
      for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) floatWeights(sub, out);
    }
  }
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const num = (x: number): string => x.toPrecision(3);

/** Weights holding NaN or infinities, and absurd outliers (see the module comment for the rule). */
export function suspiciousWeights(model: Model): ModelWarning[] {
  const stats: { name: string; count: number; nan: number; inf: number; maxAbs: number }[] = [];
  for (const { name, tensor } of floatWeights(model.graph)) {
    let values: Float32Array;
    try {
      values = tensorToFloat32(tensor);
    } catch {
      continue; // data the reader cannot decode is the reader's to refuse
    }
    let nan = 0;
    let inf = 0;
    let maxAbs = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) nan++;
      else if (v === Infinity || v === -Infinity) inf++;
      else if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
    }
    stats.push({ name, count: values.length, nan, inf, maxAbs });
  }
  const warnings: ModelWarning[] = [];
  for (const s of stats) {
    if (s.nan > 0 || s.inf > 0) {
      const what = [s.nan > 0 ? `${s.nan} NaN` : '', s.inf > 0 ? `${s.inf} infinite` : ''].filter((x) => x !== '').join(' and ');
      warnings.push({ kind: 'weight', tensor: s.name, message: `weight '${s.name}' holds ${what} value${s.nan + s.inf > 1 ? 's' : ''} (of ${s.count}): the model computes garbage with it, and it cannot be quantized` });
      continue;
    }
    if (!(s.maxAbs > ABSURD_WEIGHT)) continue;
    const others = stats.filter((o) => o !== s && o.maxAbs > 0).map((o) => o.maxAbs);
    const typical = others.length > 0 ? median(others) : 0;
    if (others.length > 0 && !(s.maxAbs > WEIGHT_OUTLIER_RATIO * typical)) continue;
    const context = others.length > 0 ? ` while the model's other weights peak at ${num(typical)} (median of ${others.length})` : '';
    warnings.push({ kind: 'weight', tensor: s.name, message: `weight '${s.name}' reaches |w| = ${num(s.maxAbs)}${context}: a flipped bit or a corrupt export? its activations and their int8 scales follow it` });
  }
  return warnings;
}

/** Calibrated ranges beyond ±ABSURD_ACTIVATION, largest first. */
export function absurdRanges(ranges: ReadonlyMap<string, TensorRange>): ModelWarning[] {
  return [...ranges]
    .map(([tensor, r]) => ({ tensor, r, a: Math.max(Math.abs(r.min), Math.abs(r.max)) }))
    .filter((x) => x.a > ABSURD_ACTIVATION)
    .sort((x, y) => y.a - x.a)
    .map(({ tensor, r, a }) => ({
      kind: 'activation' as const,
      tensor,
      message: `activation '${tensor}' is calibrated to [${num(r.min)}, ${num(r.max)}], beyond ±${num(ABSURD_ACTIVATION)}: one int8 step is at least ${num(a / 127)}, so its ordinary values quantize to zero (check the weights upstream)`,
    }));
}

/** How far (dB) the kernels' output SQNR may fall below the reference semantics before it is reported. */
export const KERNEL_GAP_DB = 3;

/** What kernelGap needs from a finished quantization. */
export interface KernelGapInput {
  /** Output SQNR with onnxruntime's kernels on this CPU, and in the QDQ reference semantics, dB. */
  kernelsDb: number;
  referenceDb: number;
  activationType: QuantType;
  weightType: QuantType;
  reduceRange: boolean;
  /** process.arch of this machine. */
  arch: string;
}

/**
 * The output SQNR with this CPU's kernels more than KERNEL_GAP_DB below the reference semantics. x64 CPUs
 * without VNNI multiply uint8 activations by int8 weights in 16-bit saturating pairs (vpmaddubsw), so
 * U8S8 models lose 4-10 dB there that ARM boards with the dot product and VNNI CPUs do not; 7-bit weights
 * (--reduce-range) stay below the saturation. Decided on the measurement, not on the CPU's name: the
 * advice about --reduce-range is given only for U8S8 on x64 without it.
 */
export function kernelGap(g: KernelGapInput): ModelWarning[] {
  if (!Number.isFinite(g.referenceDb) || !(g.referenceDb - g.kernelsDb > KERNEL_GAP_DB)) return [];
  const u8s8x64 = g.arch === 'x64' && g.activationType === 'uint8' && g.weightType === 'int8' && !g.reduceRange;
  const why = u8s8x64
    ? ": x64 CPUs without VNNI saturate uint8 x int8 products in 16 bits; to run the model on this CPU, quantize with --reduce-range. Boards with the dot product (Raspberry Pi 5, Jetson) follow the reference semantics"
    : ': the model will lose more on this CPU than on one that follows the reference semantics';
  return [{
    kind: 'kernels',
    tensor: '',
    message: `output SQNR with onnxruntime's kernels on this CPU is ${g.kernelsDb.toFixed(1)} dB, ${(g.referenceDb - g.kernelsDb).toFixed(1)} dB below the QDQ reference semantics (${g.referenceDb.toFixed(1)} dB)${why}`,
  }];
}
