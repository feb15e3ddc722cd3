/**
 * Which ops the quantizer handles, for `akb inspect`. It mirrors the QDQ quantizer's own rule table
 * (qdq/rules.ts SUPPORTED_OPS; support.test.ts fails when the two drift apart), grouped by what the
 * quantizer does with the op.
 */

/**
 * - `weights`: int8 weights (per channel) and activations; the op runs as an integer kernel.
 * - `activations`: inputs and outputs quantized; no weights of its own.
 * - `fused`: folded into a quantized producer (Relu, Clip), else quantized like `activations`.
 * - `passthrough`: moves data; the output reuses the input's scale and zero point.
 * - `normalization`: input and output quantized, its parameters stay float.
 */
export type QuantHandling = 'weights' | 'activations' | 'fused' | 'passthrough' | 'normalization';

/** Ops of the default ONNX domain the quantizer handles. Anything else is left in float. */
export const QUANTIZABLE_OPS: Readonly<Record<string, QuantHandling>> = Object.freeze({
  Conv: 'weights',
  ConvTranspose: 'weights',
  Gemm: 'weights',
  MatMul: 'weights',
  Relu: 'fused',
  Clip: 'fused',
  Add: 'activations',
  Mul: 'activations',
  Sigmoid: 'activations',
  LeakyRelu: 'activations',
  GlobalAveragePool: 'activations',
  Concat: 'activations',
  Softmax: 'activations',
  ArgMax: 'activations',
  CumSum: 'activations',
  Where: 'activations',
  Pad: 'activations',
  Split: 'passthrough',
  Reshape: 'passthrough',
  Transpose: 'passthrough',
  Squeeze: 'passthrough',
  Unsqueeze: 'passthrough',
  Flatten: 'passthrough',
  Slice: 'passthrough',
  AveragePool: 'passthrough',
  MaxPool: 'passthrough',
  Resize: 'passthrough',
  TopK: 'passthrough',
  Gather: 'passthrough',
  GatherElements: 'passthrough',
  BatchNormalization: 'normalization',
  InstanceNormalization: 'normalization',
  LayerNormalization: 'normalization',
});

/** How the quantizer handles an op, or undefined when it stays float (unknown op or other domain). */
export function quantHandling(opType: string, domain = ''): QuantHandling | undefined {
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  return Object.prototype.hasOwnProperty.call(QUANTIZABLE_OPS, opType) ? QUANTIZABLE_OPS[opType] : undefined;
}
