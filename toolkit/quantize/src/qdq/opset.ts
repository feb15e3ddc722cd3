/**
 * The `ai.onnx` opset a QDQ model needs. Per-axis QuantizeLinear/DequantizeLinear (the `axis`
 * attribute) exists from opset 13; per-tensor Q/DQ from opset 10. A model below 13 is upgraded by
 * raising its opset import, which is sound only when none of its ops changed meaning between its
 * opset and 13: the four ops whose attributes became inputs at 13 (Squeeze, Unsqueeze, ReduceSum,
 * Split) are rewritten; ops that changed in ways this rewrite does not cover make the upgrade fail
 * with an UnsupportedModelError that names the node.
 */
import { UnsupportedModelError } from '../onnx/errors.js';
import { opsetVersion, uniqueNamer } from '../onnx/graph.js';
import { makeTensor } from '../onnx/tensor.js';
import { DataType, type Attribute, type Graph, type Model, type Node } from '../onnx/types.js';

/** The opset at which per-axis Q/DQ appeared. */
export const QDQ_PER_AXIS_OPSET = 13;
/** The first opset with QuantizeLinear/DequantizeLinear. */
export const QDQ_MIN_OPSET = 10;

/** Ops whose attribute became an input at opset 13: attribute name to input position. */
const ATTR_TO_INPUT: Readonly<Record<string, { attr: string; input: number }>> = {
  Squeeze: { attr: 'axes', input: 1 },
  Unsqueeze: { attr: 'axes', input: 1 },
  ReduceSum: { attr: 'axes', input: 1 },
  Split: { attr: 'split', input: 1 },
};

/** Ops that changed incompatibly at some opset <= 13: the model must be at least at that opset. */
const CHANGED_AT: Readonly<Record<string, number>> = {
  Slice: 10,
  TopK: 10,
  Resize: 11,
  Pad: 11,
  Clip: 11,
  Scan: 9,
};

/** Ops removed (deprecated) before 13: a model using them cannot be raised to 13. */
const DEPRECATED = new Set(['Upsample', 'Scatter']);

function attr(node: Node, name: string): Attribute | undefined {
  return node.attribute.find((a) => a.name === name);
}

function label(node: Node): string {
  return node.name ? `'${node.name}' (${node.opType})` : node.opType;
}

/** Declared rank of a tensor when the graph states its shape. */
function declaredRank(graph: Graph, name: string): number | undefined {
  for (const vi of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    if (vi.name === name) return vi.type?.tensorType?.shape?.dim.length;
  }
  return undefined;
}

/** Why `node` (valid at `from`) is not valid at opset 13 after the rewrites, or undefined if it is. */
function blocker(graph: Graph, node: Node, from: number): string | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  const op = node.opType;
  if (DEPRECATED.has(op)) return `${label(node)} does not exist at opset 13`;
  const at = CHANGED_AT[op];
  if (at !== undefined && from < at) return `${label(node)} changed its inputs at opset ${at}`;
  if (op === 'Dropout' && from < 12 && attr(node, 'ratio')) return `${label(node)} has a 'ratio' attribute, an input from opset 12`;
  if (op === 'BatchNormalization' && from < 9 && attr(node, 'spatial')) return `${label(node)} has a 'spatial' attribute, removed at opset 9`;
  if (op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax') {
    // Before 13 the input is coerced to 2D at `axis` (default 1); from 13 the op works along one axis
    // (default -1). The two agree only when the axis is the last one.
    const axis = attr(node, 'axis')?.i ?? 1;
    const rank = declaredRank(graph, node.input[0] ?? '');
    if (axis !== -1 && !(rank !== undefined && axis === rank - 1)) {
      return `${label(node)} works along axis ${axis} with opset ${from} semantics, which differ from opset 13 unless it is the last axis`;
    }
  }
  return undefined;
}

/** Every node of a graph and its subgraphs. */
function* allNodes(graph: Graph): Generator<{ graph: Graph; node: Node }> {
  for (const node of graph.node) {
    yield { graph, node };
    for (const a of node.attribute) {
      if (a.g) yield* allNodes(a.g);
      for (const g of a.graphs ?? []) yield* allNodes(g);
    }
  }
}

/** Moves the attributes that became inputs at opset 13 into int64 initializers of the node's graph. */
function rewriteAttrInputs(graph: Graph): void {
  const name = uniqueNamer(graph);
  for (const node of graph.node) {
    const change = node.domain === '' || node.domain === 'ai.onnx' ? ATTR_TO_INPUT[node.opType] : undefined;
    const a = change ? attr(node, change.attr) : undefined;
    if (change && a) {
      const values = a.ints ?? [];
      const t = makeTensor(name(`${node.name || node.opType}_${change.attr}`), DataType.INT64, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
      graph.initializer.push(t);
      while (node.input.length < change.input) node.input.push('');
      node.input.splice(change.input, 0, t.name);
      node.attribute = node.attribute.filter((x) => x !== a);
    }
    for (const at of node.attribute) {
      if (at.g) rewriteAttrInputs(at.g);
      for (const g of at.graphs ?? []) rewriteAttrInputs(g);
    }
  }
}

/**
 * Makes `model` (mutated in place; pass a copy) valid for QDQ: its `ai.onnx` opset is raised to 13
 * when below and `perAxis` Q/DQ is needed, or when below 10. When raising is impossible and the model
 * is at opset 10 to 12 without per-axis needs, it stays as is. Throws UnsupportedModelError when the
 * model has no `ai.onnx` opset import or cannot be raised. Returns the resulting opset.
 */
export function ensureQdqOpset(model: Model, perAxis: boolean): number {
  const from = opsetVersion(model, '');
  if (from === undefined) throw new UnsupportedModelError('the model imports no ai.onnx opset, so it has no standard ops to quantize');
  if (from >= QDQ_PER_AXIS_OPSET || (!perAxis && from >= QDQ_MIN_OPSET)) return from;
  const need = perAxis ? 'per-channel QuantizeLinear/DequantizeLinear need opset 13' : 'QuantizeLinear/DequantizeLinear need opset 10';
  if (from < 7) throw new UnsupportedModelError(`the model's ai.onnx opset ${from} is older than 7 and cannot be upgraded; ${need}`);
  for (const { graph, node } of allNodes(model.graph)) {
    const why = blocker(graph, node, from);
    if (why === undefined) continue;
    if (!perAxis && from >= QDQ_MIN_OPSET) return from;
    throw new UnsupportedModelError(`cannot upgrade the model from opset ${from} to 13: ${why}; ${need}`, {
      hint: perAxis && from >= QDQ_MIN_OPSET ? 'quantize per tensor instead of per channel' : 'convert the model to opset 13 or later first',
    });
  }
  rewriteAttrInputs(model.graph);
  const entry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (entry) entry.version = QDQ_PER_AXIS_OPSET;
  model.irVersion = Math.max(model.irVersion, 7);
  return QDQ_PER_AXIS_OPSET;
}
