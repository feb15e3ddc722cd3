/**
 * The op-by-op rules of the QDQ quantizer: which ops it quantizes and how, after onnxruntime's
 * `registry.py` (the union of `QLinearOpsRegistry` and `QDQRegistry`, the default op list of
 * `quantize_static` for the QDQ format) and its `operators/*.py` QDQ classes.
 */

/**
 * How an op is quantized.
 * - `conv`: input 0 and output activations, weight (input 1) per channel on axis 0 (Conv) or 1
 *   (ConvTranspose), bias (input 2) int32.
 * - `gemm`: like conv, weight axis 0 with `transB=1` else 1, bias int32 with alpha and beta folded in.
 * - `matmul`: activations, a constant B per channel on its last axis, a constant A per tensor.
 * - `removable`: Relu/Clip: fused into a quantized producer (its output takes their range), else
 *   input and output quantized with the output's range.
 * - `share`: data movement (Reshape, Transpose, MaxPool, ...): the output reuses the input's scale
 *   and zero point when the input is quantized.
 * - `gather`: like `share`; a constant data input is quantized as an activation first.
 * - `split`: input quantized, every output shares its parameters.
 * - `pad`: input quantized; the output shares them when the padding value is in range (edge,
 *   reflect, wrap, or a constant 0), else has its own.
 * - `where`: the output is quantized when both value inputs are.
 * - `norm`: Batch/Instance/LayerNormalization: input and output activations; scale, bias and the
 *   running statistics stay float (onnxruntime quantizes the scale to 8 bits per tensor and the bias
 *   to int32 with `input_scale * scale_scale`, a scale unrelated to the normalized values, for no
 *   speed gain on the CPU: no fused kernel exists).
 * - `generic`: every float input (constants as activations) and output gets its own parameters.
 */
export type QdqRule = 'conv' | 'gemm' | 'matmul' | 'removable' | 'share' | 'gather' | 'split' | 'pad' | 'where' | 'norm' | 'generic';

/** The ops the QDQ quantizer handles (default `ai.onnx` domain) and the rule it applies to each. */
export const SUPPORTED_OPS: Readonly<Record<string, QdqRule>> = Object.freeze({
  Conv: 'conv',
  ConvTranspose: 'conv',
  Gemm: 'gemm',
  MatMul: 'matmul',
  Relu: 'removable',
  Clip: 'removable',
  Reshape: 'share',
  Transpose: 'share',
  Squeeze: 'share',
  Unsqueeze: 'share',
  Flatten: 'share',
  Slice: 'share',
  AveragePool: 'share',
  MaxPool: 'share',
  Resize: 'share',
  TopK: 'share',
  Gather: 'gather',
  GatherElements: 'gather',
  Split: 'split',
  Pad: 'pad',
  Where: 'where',
  BatchNormalization: 'norm',
  InstanceNormalization: 'norm',
  LayerNormalization: 'norm',
  Add: 'generic',
  Mul: 'generic',
  Sigmoid: 'generic',
  LeakyRelu: 'generic',
  GlobalAveragePool: 'generic',
  Concat: 'generic',
  Softmax: 'generic',
  ArgMax: 'generic',
  CumSum: 'generic',
});

/** Ops with a weight input: in TensorRT mode their outputs get no Q/DQ (the consumers quantize). */
export const WEIGHTED_OPS: ReadonlySet<string> = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** Minimum `ai.onnx` opset for an op's int8 form (onnxruntime's QDQMaxPool and QDQResize checks). */
export const MIN_OPSET: Readonly<Record<string, number>> = Object.freeze({ MaxPool: 12, Resize: 11 });

/** The rule for a node, or undefined when the op stays float. Only the default domain is handled. */
export function ruleFor(opType: string, domain: string): QdqRule | undefined {
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  return Object.prototype.hasOwnProperty.call(SUPPORTED_OPS, opType) ? SUPPORTED_OPS[opType] : undefined;
}
