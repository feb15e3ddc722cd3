/**
 * Data-aware fp16: the nodes that must stay float32 because the values they see do not fit float16.
 *
 * A static block list cannot know that a JSCC encoder's power normalization sums 512 squares to 150,000
 * (float16 stops at 65,504; onnxruntime's Cast saturates there, so the latent comes out 7% too strong)
 * or that its reciprocal, 7e-6, is a float16 subnormal with three significant bits. The ranges of every
 * float activation on the calibration rows tell: a tensor whose largest magnitude is above half the
 * float16 maximum (headroom for inputs not seen) or below 2^-10 (within 16x of the subnormals) is kept
 * float32 on both sides, its producer and its consumers.
 */
import { calibrate } from './calibrate/index.js';
import type { Model } from './onnx/types.js';
import { rowSamples, type RowTable } from './report/rows.js';

/** Largest magnitude kept in float16: half of its maximum, 65,504. */
export const FP16_SAFE_MAX = 32752;
/** Smallest largest-magnitude kept in float16: 2^-10, 16x above the smallest normal (2^-14). */
export const FP16_SAFE_TINY = 2 ** -10;

/** One node kept in float32 and why. */
export interface Fp16Guarded {
  node: string;
  tensor: string;
  absMax: number;
}

/**
 * The nodes to keep in float32 for these rows: producers and consumers of float tensors out of the safe
 * float16 range. `tensors` are the float activations to check; all-zero tensors are fine.
 */
export async function fp16OutOfRange(model: Model, rows: RowTable, tensors: string[]): Promise<Fp16Guarded[]> {
  const ranges = await calibrate(model, rowSamples(rows), tensors, { method: 'minmax' });
  const out = new Map<string, Fp16Guarded>();
  const nodes = model.graph.node.map((n, i) => ({ n, name: n.name || `${n.opType}_${i}` }));
  for (const [tensor, r] of ranges) {
    const absMax = Math.max(Math.abs(r.min), Math.abs(r.max));
    if (!(absMax > FP16_SAFE_MAX || (absMax > 0 && absMax < FP16_SAFE_TINY))) continue;
    for (const { n, name } of nodes) {
      if ((n.output.includes(tensor) || n.input.includes(tensor)) && !out.has(name)) out.set(name, { node: name, tensor, absMax });
    }
  }
  return [...out.values()];
}
