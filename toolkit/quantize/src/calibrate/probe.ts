/**
 * The range pass's model: a copy of the graph with ReduceMin / ReduceMax (and for a histogram of |x|,
 * Abs then ReduceMin) over each requested tensor, as extra graph outputs, as onnxruntime's
 * `MinMaxCalibrater` augments its graph. onnxruntime then hands back a few numbers per tensor instead
 * of the whole activation, which halves the range pass on a MobileNet (no copy of every activation
 * into JavaScript, no scan of it there).
 *
 * A ReduceSum of each tensor tells whether it holds a NaN or an infinity: onnxruntime's ReduceMin and
 * ReduceMax skip a NaN unless it is the first value (measured with onnxruntime-node 1.30), but a sum
 * of finite values is finite unless it overflows, and any NaN or infinity makes it NaN or infinite.
 */
import { makeNode, uniqueNamer, withOutputs } from '../onnx/graph.js';
import type { Model } from '../onnx/types.js';

/** The extra outputs that give one tensor's min, max and (when asked) min |x|. */
export interface RangeProbe {
  min: string;
  max: string;
  /** The sum of the values: not finite when a value is not (or when the sum overflows). */
  sum: string;
  minAbs?: string;
}

/** The outputs of one probe, in a fixed order. */
export function probeOutputs(p: RangeProbe): string[] {
  return p.minAbs ? [p.min, p.max, p.sum, p.minAbs] : [p.min, p.max, p.sum];
}

/**
 * A copy of `model` that outputs min, max and sum (keepdims=1, so a tensor with a zero-sized dimension
 * still reduces: it gives +Infinity / -Infinity, read as "no values") of each tensor in `tensors`.
 * The input model is not changed.
 */
export function rangeProbeModel(model: Model, tensors: readonly string[], withMinAbs: boolean): { model: Model; probes: Map<string, RangeProbe> } {
  const name = uniqueNamer(model.graph);
  const nodes = [];
  const probes = new Map<string, RangeProbe>();
  for (const t of tensors) {
    const probe: RangeProbe = { min: name(`${t}_akb_min`), max: name(`${t}_akb_max`), sum: name(`${t}_akb_sum`) };
    nodes.push(makeNode('ReduceMin', [t], [probe.min], name(`${t}_akb_ReduceMin`), { keepdims: 1 }));
    nodes.push(makeNode('ReduceMax', [t], [probe.max], name(`${t}_akb_ReduceMax`), { keepdims: 1 }));
    nodes.push(makeNode('ReduceSum', [t], [probe.sum], name(`${t}_akb_ReduceSum`), { keepdims: 1 }));
    if (withMinAbs) {
      const abs = name(`${t}_akb_abs`);
      probe.minAbs = name(`${t}_akb_min_abs`);
      nodes.push(makeNode('Abs', [t], [abs], name(`${t}_akb_Abs`)));
      nodes.push(makeNode('ReduceMin', [abs], [probe.minAbs], name(`${t}_akb_ReduceMinAbs`), { keepdims: 1 }));
    }
    probes.set(t, probe);
  }
  const augmented: Model = { ...model, graph: { ...model.graph, node: [...model.graph.node, ...nodes] } };
  const outputs = [...probes.values()].flatMap(probeOutputs);
  return { model: withOutputs(augmented, outputs), probes };
}
