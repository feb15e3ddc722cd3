/**
 * Element types of a graph's tensors. Exported models often carry no value_info (PyTorch writes
 * none), so the types of intermediate tensors are propagated through the ops: declared types first
 * (initializers, inputs, outputs, value_info, Constant values), then the output type of each op
 * from its inputs and attributes. A tensor whose type cannot be told is left out of the map; the
 * quantizers never touch such a tensor.
 */
import { DataType, type Attribute, type Graph, type Node } from '../onnx/types.js';

/** Ops whose outputs are always int64 (indices, shapes, counts). */
const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
/** Ops whose outputs are always bool. */
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
/** Ops with a second output of int64 indices. */
const INDICES_SECOND = new Set(['TopK', 'MaxPool']);
/** Random generators: `dtype` attribute, float by default. */
const RANDOM = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli']);

function attr(node: Node, name: string): Attribute | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** The element type of a Constant node's value. */
function constantType(node: Node): number | undefined {
  for (const a of node.attribute) {
    switch (a.name) {
      case 'value':
        return a.t?.dataType;
      case 'value_float':
      case 'value_floats':
        return DataType.FLOAT;
      case 'value_int':
      case 'value_ints':
        return DataType.INT64;
      case 'value_string':
      case 'value_strings':
        return DataType.STRING;
      default:
    }
  }
  return undefined;
}

/** Output element types of one node given the types known so far (undefined entries: unknown). */
function outputTypes(node: Node, typeOf: (name: string) => number | undefined): (number | undefined)[] {
  const domainIsOnnx = node.domain === '' || node.domain === 'ai.onnx';
  const first = node.input.map((n) => (n ? typeOf(n) : undefined)).find((t) => t !== undefined);
  const n = node.output.length;
  const all = (t: number | undefined): (number | undefined)[] => new Array<number | undefined>(n).fill(t);
  if (!domainIsOnnx) {
    if (node.opType === 'DequantizeLinear' && node.domain === 'com.microsoft') return all(typeOf(node.input[1] ?? ''));
    return all(undefined);
  }
  const op = node.opType;
  if (op === 'Constant') return all(constantType(node));
  if (INT64_OUT.has(op)) return all(DataType.INT64);
  if (BOOL_OUT.has(op)) return all(DataType.BOOL);
  if (op === 'Cast') return all(attr(node, 'to')?.i);
  if (op === 'CastLike') return all(typeOf(node.input[1] ?? ''));
  if (op === 'DequantizeLinear') return all(typeOf(node.input[1] ?? ''));
  if (op === 'QuantizeLinear') {
    const dt = attr(node, 'output_dtype')?.i;
    if (dt) return all(dt);
    return all(node.input[2] ? typeOf(node.input[2]) : DataType.UINT8);
  }
  if (op === 'ConstantOfShape') return all(attr(node, 'value')?.t?.dataType ?? DataType.FLOAT);
  if (op === 'EyeLike') return all(attr(node, 'dtype')?.i ?? first);
  if (RANDOM.has(op)) return all(attr(node, 'dtype')?.i ?? (op.endsWith('Like') || op === 'Bernoulli' ? first : DataType.FLOAT));
  if (op === 'Multinomial') return all(attr(node, 'dtype')?.i ?? DataType.INT32);
  if (op === 'Where') return all(typeOf(node.input[1] ?? ''));
  if (op === 'Unique') return [first, DataType.INT64, DataType.INT64, DataType.INT64].slice(0, n);
  if (INDICES_SECOND.has(op)) return [typeOf(node.input[0] ?? ''), DataType.INT64].slice(0, n);
  if (op === 'If' || op === 'Loop' || op === 'Scan') {
    // Subgraph outputs declare their types: If's outputs are its branches' outputs; a Loop body's
    // outputs are (condition, carried..., scan...), the Loop's outputs (carried..., scan...).
    const body = attr(node, op === 'If' ? 'then_branch' : 'body')?.g;
    const skip = op === 'Loop' ? 1 : 0;
    return node.output.map((_, i) => body?.output[i + skip]?.type?.tensorType?.elemType || undefined);
  }
  if (op === 'SequenceAt' || op === 'Optional' || op === 'OptionalGetElement') return all(undefined);
  // Element-wise, data movement, reductions, convolutions, normalizations: the first input's type.
  return all(first);
}

/**
 * Element types of the tensors of a graph (top level only), by name. `order` is a topological order
 * of `graph.node` (so every input's type is known before its consumer is visited).
 */
export function inferElemTypes(graph: Graph, order: readonly Node[] = graph.node): Map<string, number> {
  const types = new Map<string, number>();
  for (const t of graph.initializer) types.set(t.name, t.dataType);
  for (const vi of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const et = vi.type?.tensorType?.elemType;
    if (et) types.set(vi.name, et);
  }
  const typeOf = (name: string): number | undefined => types.get(name);
  for (const node of order) {
    const outs = outputTypes(node, typeOf);
    node.output.forEach((name, i) => {
      const t = outs[i];
      if (name && t !== undefined && t !== 0 && !types.has(name)) types.set(name, t);
    });
  }
  return types;
}
