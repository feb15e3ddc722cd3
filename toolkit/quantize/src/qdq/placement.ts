/**
 * Where the Q/DQ pairs go. `onnxruntime` (the default) is onnxruntime's placement: every op it has an
 * int8 kernel for gets quantized inputs and outputs, so a Conv -> PRelu -> Mul -> Add chain between two
 * convolutions is rounded to 8 bits four times. `weighted-inputs` keeps only the Q/DQ pairs on the
 * activation inputs of weighted ops (Conv, ConvTranspose, Gemm, MatMul), as TensorRT's placement
 * recommendations and int8 accelerators with fused epilogues do: each weighted op still multiplies int8
 * activations by int8 weights with an int32 bias, and what lies between two weighted ops (bias,
 * activation, elementwise scale and shift) is computed on the accumulator before the one rounding that
 * feeds the next weighted op.
 *
 * The cost is on runtimes that fuse only DequantizeLinear -> op -> QuantizeLinear: onnxruntime's CPU
 * provider then runs those weighted ops in float on dequantized values (same numbers as the reference
 * semantics, no int8 speed-up). TensorRT fuses the whole chain.
 */
import { GraphIndex } from '../onnx/graph.js';
import type { Graph, Node } from '../onnx/types.js';
import type { QdqPlan } from './plan.js';
import { WEIGHTED_OPS } from './rules.js';

export type QdqPlacement = 'onnxruntime' | 'weighted-inputs';

export const PLACEMENTS: readonly QdqPlacement[] = ['onnxruntime', 'weighted-inputs'];

/** Why a node left unquantized by this placement runs in float (the report's skipped list). */
export const FUSED_REASON = 'between weighted ops: computed on the accumulator before the next rounding (weighted-inputs placement)';

/** The activation inputs of a weighted op that the plan quantizes (input 0; MatMul: both computed inputs). */
function weightedInputs(node: Node, plan: QdqPlan): string[] {
  const slots = node.opType === 'MatMul' ? [0, 1] : [0];
  return slots.map((i) => node.input[i] ?? '').filter((t) => t !== '' && plan.acts.has(t));
}

/**
 * Cuts a plan made with onnxruntime's placement down to the weighted-inputs placement (mutates it):
 * activations that feed no weighted op lose their Q/DQ, a kept activation that shared a dropped
 * tensor's parameters gets its own range, Relu/Clip fusions are kept only where every reader of their
 * output is a quantized weighted op, constants quantized as activations (operands of Mul, Add, ...)
 * stay float, and biases stay int32 only where their op's input is quantized.
 */
export function restrictToWeightedInputs(graph: Graph, plan: QdqPlan): void {
  const keep = new Set<string>();
  const weighted = (n: Node): boolean => isQuantizedWeighted(n, plan);
  for (const n of graph.node.filter(weighted)) for (const t of weightedInputs(n, plan)) keep.add(t);
  for (const [t, mark] of plan.acts) {
    if (!keep.has(t)) plan.acts.delete(t);
    else if (mark.share !== undefined && !keep.has(mark.share)) plan.acts.set(t, {});
  }
  // A fused Relu/Clip exists only as the clamp of its output's Q/DQ, which weighted consumers alone read
  // now: it stays fused only where every reader of its output is such a consumer (a residual Add that
  // also reads it, or a graph output, needs the Relu itself).
  const index = new GraphIndex(graph);
  plan.removals = plan.removals.filter((r) => keep.has(r.to) && !index.isGraphOutput(r.to) && index.consumersOf(r.to).every(weighted));
  for (const [t, mark] of plan.inits) if (mark.role === 'activation') plan.inits.delete(t);
  plan.biases = plan.biases.filter((b) => keep.has(b.input));
  const removed = new Set(plan.removals.map((r) => r.node));
  for (const node of [...plan.quantized]) {
    if (removed.has(node)) continue;
    const touches = node.input.some((t) => plan.acts.has(t) || plan.inits.has(t)) || node.output.some((t) => plan.acts.has(t));
    if (touches) continue;
    plan.quantized.delete(node);
    plan.skipped.push({ node: node.name, opType: node.opType, reason: FUSED_REASON });
  }
}

/** Whether `consumer` reads the quantized form of an activation under this placement. */
export function readsQuantized(placement: QdqPlacement, consumer: Node, plan: QdqPlan): boolean {
  return placement === 'onnxruntime' || isQuantizedWeighted(consumer, plan);
}

function isQuantizedWeighted(node: Node, plan: QdqPlan): boolean {
  return WEIGHTED_OPS.has(node.opType) && plan.quantized.has(node);
}
