/**
 * Quantization parameters (scale and zero point) and integer quantization, with the numerics of
 * onnxruntime's Python quantizer (`quant_utils.compute_scale_zp`, `get_qmin_qmax_for_qType`,
 * `quantize_nparray`) and of ONNX QuantizeLinear:
 *
 * - the real range is widened to include 0; symmetric uses `[-a, a]` with `a = max(|rmin|, |rmax|)`;
 * - integer ranges: int8 [-128, 127], symmetric int8 [-127, 127], uint8 [0, 255]; reduced range
 *   (7 bits) int8 [-64, 64] and uint8 [0, 127] (reduced range wins over symmetric, as in onnxruntime);
 * - `rmax - rmin` is taken in float32 (the ranges are float32), the division by `qmax - qmin` in
 *   float64, and the scale is stored as float32; a float64 scale below float32's smallest normal
 *   (1.1754944e-38) becomes scale 1 with zero point 0;
 * - symmetric zero point `round((qmin + qmax) / 2)`: 0 for int8, 128 for uint8 (onnxruntime's value;
 *   127.5 rounds half to even); asymmetric `round(qmin - rmin / scale)` with the float64 scale;
 * - quantize: `clamp(roundHalfEven(float32(x / scale)) + zp, typeMin, typeMax)`.
 *
 * Verified bit for bit against onnxruntime 1.30 in `qparams.test.ts` (fixture made by
 * `fixtures/calib/make_qparams_fixture.py`).
 */

/** The integer types of static int8 quantization. */
export type QuantType = 'int8' | 'uint8';

/** A scale (float32 value) and zero point (integer in the type's range). */
export interface QParams {
  scale: number;
  zeroPoint: number;
}

/** Options shared by the range and parameter helpers. */
export interface QRangeOptions {
  /** Use a range symmetric around 0 (int8 then uses [-127, 127]). Default false. */
  symmetric?: boolean;
  /** 7-bit range for x64 CPUs without VNNI: int8 [-64, 64], uint8 [0, 127]. Default false. */
  reduceRange?: boolean;
}

/** float32's smallest positive normal number (numpy.finfo(float32).tiny). */
export const FLOAT32_TINY = 1.1754943508222875e-38;

/** The full storage range of a quantized type (the clamp of QuantizeLinear). */
export function typeRange(type: QuantType): { qmin: number; qmax: number } {
  return type === 'int8' ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 };
}

/** The integer range used to derive quantization parameters (onnxruntime's `get_qmin_qmax_for_qType`). */
export function qRange(type: QuantType, opts: QRangeOptions = {}): { qmin: number; qmax: number } {
  if (opts.reduceRange) return type === 'int8' ? { qmin: -64, qmax: 64 } : { qmin: 0, qmax: 127 };
  if (opts.symmetric && type === 'int8') return { qmin: -127, qmax: 127 };
  return typeRange(type);
}

/**
 * Rounds to the nearest integer, ties to even (numpy.round, ONNX QuantizeLinear). `Math.round`
 * rounds ties towards +Infinity and must not be used for quantization. Non-finite values pass through.
 */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) return r - 1; // x = k + 0.5 with k even: Math.round went up to odd
  return r === 0 ? 0 : r; // no negative zero
}

/**
 * Scale and zero point for the real range [rmin, rmax] (onnxruntime's `compute_scale_zp` with
 * the integer range of `get_qmin_qmax_for_qType`). `rmin` and `rmax` are taken as float32, like the
 * calibrators' ranges. Throws a RangeError on a NaN or infinite bound.
 */
export function computeQParams(rmin: number, rmax: number, type: QuantType, opts: QRangeOptions = {}): QParams {
  if (!Number.isFinite(rmin) || !Number.isFinite(rmax)) {
    throw new RangeError(`cannot quantize the range [${rmin}, ${rmax}]: bounds must be finite numbers`);
  }
  const { qmin, qmax } = qRange(type, opts);
  let lo = Math.min(Math.fround(rmin), 0);
  let hi = Math.max(Math.fround(rmax), 0);
  if (opts.symmetric) {
    const a = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -a;
    hi = a;
  }
  const scale64 = Math.fround(hi - lo) / (qmax - qmin);
  if (scale64 < FLOAT32_TINY) return { scale: 1, zeroPoint: 0 };
  const { qmin: tmin, qmax: tmax } = typeRange(type);
  const zp = opts.symmetric ? roundHalfEven((qmin + qmax) / 2) : roundHalfEven(qmin - lo / scale64);
  // Clamp only guards float rounding at the ends; onnxruntime's formula stays in range for rmin <= 0 <= rmax.
  return { scale: Math.fround(scale64), zeroPoint: Math.min(tmax, Math.max(tmin, zp)) };
}

/** Quantizes one value: `clamp(roundHalfEven(float32(x / scale)) + zp)` to the type's storage range. */
export function quantizeValue(x: number, p: QParams, type: QuantType): number {
  const { qmin, qmax } = typeRange(type);
  const q = roundHalfEven(Math.fround(x / p.scale)) + p.zeroPoint;
  if (Number.isNaN(q)) return p.zeroPoint; // ONNX leaves NaN undefined; the zero point (real 0) is the safe choice
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

/** `quantizeValue` over x[start, end) into out, with the type's range hoisted out of the loop. */
function quantizeRange(x: Float32Array, out: Int8Array | Uint8Array, start: number, end: number, p: QParams, type: QuantType): void {
  const { qmin, qmax } = typeRange(type);
  const { scale, zeroPoint } = p;
  for (let i = start; i < end; i++) {
    const q = roundHalfEven(Math.fround(x[i]! / scale)) + zeroPoint;
    out[i] = Number.isNaN(q) ? zeroPoint : q < qmin ? qmin : q > qmax ? qmax : q; // NaN: the zero point, as quantizeValue
  }
}

/** Quantizes a float32 array per tensor with one scale and zero point. */
export function quantizeArray(x: Float32Array, p: QParams, type: QuantType): Int8Array | Uint8Array {
  const out = type === 'int8' ? new Int8Array(x.length) : new Uint8Array(x.length);
  quantizeRange(x, out, 0, x.length, p, type);
  return out;
}

/** Dequantizes integers back to float32: `(q - zp) * scale` (the DequantizeLinear formula). */
export function dequantizeArray(q: Int8Array | Uint8Array, p: QParams): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = (q[i]! - p.zeroPoint) * p.scale;
  return out;
}

/** Minimum and maximum of a float32 array (0 and 0 when empty; NaN is ignored). */
export function minMax(x: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min > max ? { min: 0, max: 0 } : { min, max };
}

/** Layout of a tensor seen along one axis: `index = (o * channels + c) * inner + i`. */
function axisLayout(dims: readonly number[], axis: number): { outer: number; channels: number; inner: number; axis: number } {
  const rank = dims.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`per-channel axis ${axis} is out of range for a weight of shape [${dims.join(', ')}]`);
  }
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < a; d++) outer *= dims[d]!;
  for (let d = a + 1; d < rank; d++) inner *= dims[d]!;
  return { outer, channels: dims[a]!, inner, axis: a };
}

/**
 * Per-channel weight quantization along `axis` (negative counts from the end), as onnxruntime's QDQ
 * quantizer does it: one range per channel (the channel's min and max, widened to include 0), then
 * `computeQParams` and `quantizeValue` per channel. Symmetric by default, as in onnxruntime's QDQ path
 * (per-channel initializers are always symmetric unless overridden, for int8 and uint8 alike, so that
 * all channels share a zero point: 0 for int8, 128 for uint8). An empty channel gets scale 1, zp 0.
 */
export function quantizePerChannel(
  w: Float32Array,
  dims: readonly number[],
  axis: number,
  type: QuantType,
  opts: QRangeOptions = {},
): { data: Int8Array | Uint8Array; scales: Float32Array; zeroPoints: Int8Array | Uint8Array } {
  const { outer, channels, inner } = axisLayout(dims, axis);
  if (outer * channels * inner !== w.length) {
    throw new RangeError(`weight has ${w.length} values but shape [${dims.join(', ')}] needs ${outer * channels * inner}`);
  }
  const symmetric = opts.symmetric ?? true;
  const mins = new Float64Array(channels).fill(Infinity);
  const maxs = new Float64Array(channels).fill(-Infinity);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let lo = mins[c]!;
      let hi = maxs[c]!;
      for (let i = 0; i < inner; i++) {
        const v = w[base + i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      mins[c] = lo;
      maxs[c] = hi;
    }
  }
  const scales = new Float32Array(channels);
  const zeroPoints = type === 'int8' ? new Int8Array(channels) : new Uint8Array(channels);
  const params: QParams[] = [];
  for (let c = 0; c < channels; c++) {
    const lo = mins[c]!;
    const hi = maxs[c]!;
    const empty = !(lo <= hi);
    const p = empty ? { scale: 1, zeroPoint: 0 } : computeQParams(lo, hi, type, { symmetric, reduceRange: opts.reduceRange });
    params.push(p);
    scales[c] = p.scale;
    zeroPoints[c] = p.zeroPoint;
  }
  const data = type === 'int8' ? new Int8Array(w.length) : new Uint8Array(w.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      quantizeRange(w, data, base, base + inner, params[c]!, type);
    }
  }
  return { data, scales, zeroPoints };
}

/**
 * Per-tensor weight quantization: the tensor's min and max, then `computeQParams`. Symmetric by
 * default for int8 and asymmetric for uint8, as onnxruntime's `is_weight_symmetric` decides.
 */
export function quantizePerTensor(
  w: Float32Array,
  type: QuantType,
  opts: QRangeOptions = {},
): { data: Int8Array | Uint8Array; params: QParams } {
  const { min, max } = minMax(w);
  const params = computeQParams(min, max, type, { symmetric: opts.symmetric ?? type === 'int8', reduceRange: opts.reduceRange });
  return { data: quantizeArray(w, params, type), params };
}
