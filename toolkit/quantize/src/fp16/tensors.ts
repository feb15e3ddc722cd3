/**
 * float32 -> float16 for tensors and node attributes, with onnxconverter-common's clamping: a
 * non-zero magnitude below 1e-7 becomes 1e-7 and a finite magnitude above 1e4 becomes 1e4 (sign
 * kept); zero, NaN and infinities are kept. Small values would otherwise flush to zero (fp16's
 * smallest subnormal is 6e-8) and the margin below 65504 leaves room for the arithmetic.
 */
import { toFloat16Bits } from '../onnx/float16.js';
import { makeTensor, tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Node, type TensorProto } from '../onnx/types.js';

/** Smallest magnitude kept (onnxconverter-common's `min_positive_val`). */
export const FP16_MIN_POSITIVE = 1e-7;
/** Largest magnitude kept (onnxconverter-common's `max_finite_val`). */
export const FP16_MAX_FINITE = 1e4;

/** Clamps magnitudes into [1e-7, 1e4] (zero, NaN and infinities untouched), in place. */
export function clampForFp16(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const a = Math.abs(v);
    if (a > 0 && a < FP16_MIN_POSITIVE) values[i] = Math.sign(v) * FP16_MIN_POSITIVE;
    else if (a > FP16_MAX_FINITE && a !== Infinity) values[i] = Math.sign(v) * FP16_MAX_FINITE;
  }
  return values;
}

/** A float32 tensor as float16 (clamped), under `name`. Other types are returned unchanged. */
export function tensorToFp16(t: TensorProto, name: string = t.name): TensorProto {
  if (t.dataType !== DataType.FLOAT) return t;
  const bits = toFloat16Bits(clampForFp16(Float32Array.from(tensorToFloat32(t))));
  const out = makeTensor(name, DataType.FLOAT16, [...t.dims], bits);
  return t.docString ? { ...out, docString: t.docString } : out;
}

/** Attributes whose integer value names the element type of an output. */
const DTYPE_ATTRS = new Set(['to', 'dtype']);

/**
 * Converts a node's float32 content to float16, in place: FLOAT tensor attributes (Constant's value,
 * ConstantOfShape's value, ...), the float value_float(s) of Constant, and element-type attributes
 * (Cast's `to`, RandomNormal's `dtype`, ...) that say FLOAT. Returns whether anything changed.
 */
export function nodeToFp16(node: Node): boolean {
  let changed = false;
  node.attribute = node.attribute.map((a) => {
    if (a.t && a.t.dataType === DataType.FLOAT) {
      changed = true;
      return { ...a, t: tensorToFp16(a.t) };
    }
    if (node.opType === 'Constant' && (a.name === 'value_float' || a.name === 'value_floats')) {
      changed = true;
      const values = a.name === 'value_float' ? [a.f ?? 0] : (a.floats ?? []);
      const dims = a.name === 'value_float' ? [] : [values.length];
      const t = tensorToFp16(makeTensor('', DataType.FLOAT, dims, Float32Array.from(values)));
      return { name: 'value', type: 4, t };
    }
    if (DTYPE_ATTRS.has(a.name) && a.i === DataType.FLOAT) {
      changed = true;
      return { ...a, i: DataType.FLOAT16 };
    }
    return a;
  });
  return changed;
}
