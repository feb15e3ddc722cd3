/**
 * Offline quantization of initializers: weights (per tensor or per channel), constant activations,
 * and int32 biases with scale `alpha * input_scale * weight_scale`. The weight scale of a channel
 * is raised when the int32 bias would overflow with it, as onnxruntime's
 * `_adjust_weight_scale_for_int32_bias` does (and here also for asymmetric uint8 weights, whose
 * zero point is then recomputed; onnxruntime skips those and lets the bias clip).
 */
import { qRange, quantizePerChannel, quantizePerTensor, quantizeValue, roundHalfEven, typeRange, type QParams, type QuantType } from '../numerics/qparams.js';
import { AkbError } from '@akb/protocol';
import { countNonFinite, firstNonFinite, nonFiniteName } from '../calibrate/finite.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import type { TensorProto } from '../onnx/types.js';

/** A quantized initializer: data, one or per-channel parameters. */
export interface QuantizedWeight {
  type: QuantType;
  data: Int8Array | Uint8Array;
  /** One entry per tensor, or one per channel along `axis`. */
  params: QParams[];
  axis?: number;
  symmetric: boolean;
  reduceRange: boolean;
  /** The float values (kept for re-quantization after a scale change). */
  values: Float32Array;
  dims: number[];
}

/** How to quantize one initializer. */
export interface WeightSpec {
  type: QuantType;
  axis?: number;
  symmetric: boolean;
  reduceRange: boolean;
}

/** Quantizes an initializer per tensor, or per channel when `spec.axis` is set; a NaN or infinity in it is a one-line AkbError. */
export function quantizeWeight(t: TensorProto, spec: WeightSpec): QuantizedWeight {
  const values = tensorToFloat32(t);
  const bad = firstNonFinite(values);
  if (bad !== -1) {
    throw new AkbError('NON_FINITE_WEIGHT', `weight '${t.name}' holds ${nonFiniteName(values[bad]!)} (${countNonFinite(values)} of ${values.length} values are not finite): it cannot be quantized`, {
      hint: 'fix the model, or keep its node in float with --exclude',
    });
  }
  const base = { type: spec.type, symmetric: spec.symmetric, reduceRange: spec.reduceRange, values, dims: [...t.dims] };
  if (spec.axis === undefined) {
    const q = quantizePerTensor(values, spec.type, { symmetric: spec.symmetric, reduceRange: spec.reduceRange });
    return { ...base, data: q.data, params: [q.params] };
  }
  const q = quantizePerChannel(values, t.dims, spec.axis, spec.type, { symmetric: spec.symmetric, reduceRange: spec.reduceRange });
  const params = Array.from(q.scales, (scale, c) => ({ scale, zeroPoint: q.zeroPoints[c]! }));
  return { ...base, data: q.data, params, axis: spec.axis };
}

/** Channel layout along the weight's axis (one channel when per tensor). */
function layout(w: QuantizedWeight): { outer: number; channels: number; inner: number } {
  if (w.axis === undefined) return { outer: 1, channels: 1, inner: w.values.length };
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < w.axis; d++) outer *= w.dims[d]!;
  for (let d = w.axis + 1; d < w.dims.length; d++) inner *= w.dims[d]!;
  return { outer, channels: w.dims[w.axis]!, inner };
}

/**
 * Raises channel scales to at least `minScales[c]` (float64 values), recomputing asymmetric zero
 * points and re-quantizing the data. Returns the number of channels changed.
 */
export function raiseScales(w: QuantizedWeight, minScales: ArrayLike<number>): number {
  const { outer, channels, inner } = layout(w);
  const { qmin } = qRange(w.type, { symmetric: w.symmetric, reduceRange: w.reduceRange });
  const { qmin: tmin, qmax: tmax } = typeRange(w.type);
  const changed: number[] = [];
  for (let c = 0; c < channels; c++) {
    const need = minScales[c] ?? 0;
    const p = w.params[c]!;
    if (!(need > p.scale)) continue;
    let scale = Math.fround(need);
    if (scale < need) scale = Math.fround(need * (1 + 2 ** -23)); // float32 rounding must not undershoot
    let zeroPoint = p.zeroPoint;
    if (!w.symmetric) {
      let lo = 0;
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) lo = Math.min(lo, w.values[(o * channels + c) * inner + i]!);
      zeroPoint = Math.min(tmax, Math.max(tmin, roundHalfEven(qmin - lo / scale)));
    }
    w.params[c] = { scale, zeroPoint };
    changed.push(c);
  }
  for (const c of changed) {
    const p = w.params[c]!;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const k = (o * channels + c) * inner + i;
        w.data[k] = quantizeValue(w.values[k]!, p, w.type);
      }
    }
  }
  return changed.length;
}

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
/** onnxruntime's int32 bias range for the scale check: int32 max minus (int32 min + 1). */
const BIAS_QRANGE = INT32_MAX - (INT32_MIN + 1);

/**
 * Smallest weight scale per weight channel that keeps the int32 bias in range:
 * `1.0001 * 2 * |bias| / qrange / (alpha * input_scale)`. `repeat` bias channels map to each weight
 * channel (`o % weightChannels`); a per-tensor weight has one channel covering the whole bias.
 */
export function minWeightScales(bias: Float32Array, beta: number, alpha: number, inputScale: number, weightChannels: number): Float64Array {
  const out = new Float64Array(weightChannels);
  const per = alpha * inputScale;
  if (!(per > 0)) return out;
  for (let o = 0; o < bias.length; o++) {
    const c = weightChannels === 1 ? 0 : o % weightChannels;
    const need = (1.0001 * 2 * Math.abs(beta * bias[o]!)) / BIAS_QRANGE / per;
    if (need > out[c]!) out[c] = need;
  }
  return out;
}

/**
 * The int32 bias: `q = roundHalfEven(beta * b / s)` clamped to int32, with `s = float32(alpha *
 * input_scale * weight_scale[c])` for bias channel o and weight channel `c = o % weightChannels`.
 */
export function quantizeBias(
  bias: Float32Array,
  beta: number,
  alpha: number,
  inputScale: number,
  weightScales: readonly number[],
  perChannel: boolean,
): { data: Int32Array; scales: Float32Array } {
  const wc = weightScales.length;
  const scales = new Float32Array(perChannel ? bias.length : 1);
  for (let o = 0; o < scales.length; o++) scales[o] = alpha * inputScale * weightScales[o % wc]!;
  const data = new Int32Array(bias.length);
  for (let o = 0; o < bias.length; o++) {
    const s = scales[perChannel ? o : 0]!;
    const q = s > 0 ? roundHalfEven((beta * bias[o]!) / s) : 0;
    data[o] = Number.isNaN(q) ? 0 : Math.min(INT32_MAX, Math.max(INT32_MIN, q));
  }
  return { data, scales };
}
