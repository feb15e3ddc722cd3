/**
 * Static int8 QDQ quantization, as onnxruntime's `quantize_static(quant_format=QDQ)` does it, with
 * its known faults fixed (see plan.ts and weights.ts): weights stored as int8 (uint8 for U8U8) with
 * one DequantizeLinear, per channel on the right axis; int32 biases; a QuantizeLinear ->
 * DequantizeLinear pair on each activation from calibrated ranges; a TensorRT mode.
 *
 * Use: `tensorsToCalibrate(model, opts)` names the activations whose ranges are needed; calibrate
 * them (calibrate/); then `quantizeQdq(model, ranges, opts)`. The input model is never modified.
 */
import type { Model } from '../onnx/types.js';
import { ensureQdqOpset } from './opset.js';
import { resolveQdqOptions, type QdqOptions, type QdqResult, type ResolvedQdqOptions } from './options.js';
import { buildPlan, calibrationTensors, type QdqPlan, type Range } from './plan.js';
import { cloneForRewrite, constantsToInitializers, nameNodes } from './prepare.js';
import { applyPlan } from './rewrite.js';

export type { QdqOptions, QdqResult, SkippedNode } from './options.js';
export { resolveQdqOptions } from './options.js';
export { SUPPORTED_OPS, type QdqRule } from './rules.js';

/** The prepared copy of a model and its QDQ plan. */
interface Prepared {
  model: Model;
  plan: QdqPlan;
  opts: ResolvedQdqOptions;
}

/**
 * Copies the model, names unnamed nodes (`<OpType>_<index>`), raises the opset to 13 when per-channel
 * weights need it (or refuses with UnsupportedModelError), turns Constant tensors into initializers and
 * plans the rewrite.
 */
function prepare(model: Model, options: QdqOptions): Prepared {
  const opts = resolveQdqOptions(options);
  const copy = cloneForRewrite(model);
  nameNodes(copy.graph);
  const opset = ensureQdqOpset(copy, opts.perChannel);
  constantsToInitializers(copy.graph);
  return { model: copy, plan: buildPlan(copy.graph, opts, opset), opts };
}

/**
 * The activation tensors whose calibrated ranges `quantizeQdq` needs with these options (tensors
 * that reuse another tensor's parameters, and Softmax outputs, need none). Names are those of the
 * input model, so a copy of it with these as extra outputs gives the ranges.
 */
export function tensorsToCalibrate(model: Model, opts: QdqOptions): string[] {
  return calibrationTensors(prepare(model, opts).plan);
}

/**
 * Quantizes a float model to QDQ with the calibrated `ranges` (at least the tensors listed by
 * `tensorsToCalibrate`; a missing one throws an Error naming it). Returns the new model, the nodes
 * quantized and the float-computing nodes left in float with the reason.
 */
export function quantizeQdq(model: Model, ranges: ReadonlyMap<string, Range>, opts: QdqOptions): QdqResult {
  const p = prepare(model, opts);
  applyPlan(p.model, p.plan, ranges, p.opts);
  const quantizedNodes = [...p.plan.quantized].map((n) => n.name);
  return { model: p.model, quantizedNodes, skipped: p.plan.skipped };
}
