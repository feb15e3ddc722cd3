/**
 * Graph queries and edits: who produces and consumes a tensor, topological order, fresh names, opsets,
 * attributes, new nodes, extra graph outputs.
 */
import { UnsupportedModelError } from './errors.js';
import { AttributeType, type Attribute, type Graph, type Model, type Node, type TensorProto, type ValueInfo } from './types.js';

/**
 * Lookups over one graph, built once (rebuild it after editing the graph). Nodes whose subgraphs (If,
 * Loop, Scan bodies) read a tensor of this graph count among that tensor's consumers.
 */
export class GraphIndex {
  readonly graph: Graph;
  private readonly producers = new Map<string, Node>();
  private readonly consumers = new Map<string, Node[]>();
  private readonly initializers = new Map<string, TensorProto>();
  private readonly inputs = new Set<string>();
  private readonly outputs = new Set<string>();
  private readonly elemTypes = new Map<string, number>();

  constructor(graph: Graph) {
    this.graph = graph;
    for (const t of graph.initializer) {
      this.initializers.set(t.name, t);
      this.elemTypes.set(t.name, t.dataType);
    }
    for (const v of graph.input) this.inputs.add(v.name);
    for (const v of graph.output) this.outputs.add(v.name);
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) {
      const e = v.type?.tensorType?.elemType;
      if (e !== undefined && e !== 0 && !this.elemTypes.has(v.name)) this.elemTypes.set(v.name, e);
    }
    for (const n of graph.node) {
      for (const o of n.output) if (o !== '') this.producers.set(o, n);
      for (const i of nodeReads(n)) {
        const list = this.consumers.get(i);
        if (list === undefined) this.consumers.set(i, [n]);
        else if (list.at(-1) !== n) list.push(n);
      }
    }
  }

  /** The node that outputs `name`, if any (graph inputs and initializers have none). */
  producerOf(name: string): Node | undefined {
    return this.producers.get(name);
  }

  /** The nodes that read `name`, in graph order, each once. */
  consumersOf(name: string): Node[] {
    return this.consumers.get(name) ?? [];
  }

  initializer(name: string): TensorProto | undefined {
    return this.initializers.get(name);
  }

  isGraphInput(name: string): boolean {
    return this.inputs.has(name);
  }

  isGraphOutput(name: string): boolean {
    return this.outputs.has(name);
  }

  /** The element type (TensorProto.DataType) of a tensor, from initializers, inputs, outputs and value_info. */
  elemType(name: string): number | undefined {
    return this.elemTypes.get(name);
  }
}

/** The tensors a node reads: its inputs (without empty optional ones) and outer names its subgraphs use. */
export function nodeReads(node: Node): string[] {
  const reads = node.input.filter((i) => i !== '');
  for (const a of node.attribute) {
    for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) {
      for (const name of outerNames(g)) if (!reads.includes(name)) reads.push(name);
    }
  }
  return reads;
}

/** Names a subgraph reads from enclosing scopes: read by its nodes, defined nowhere inside it. */
function outerNames(g: Graph): Set<string> {
  const defined = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name)]);
  for (const n of g.node) for (const o of n.output) defined.add(o);
  const outer = new Set<string>();
  for (const n of g.node) for (const r of nodeReads(n)) if (!defined.has(r)) outer.add(r);
  for (const v of g.output) if (!defined.has(v.name)) outer.add(v.name);
  return outer;
}

/** A binary min-heap of node positions, so the sort keeps the original order wherever it can. */
class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(v: number): void {
    const a = this.items;
    a.push(v);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      a[p] = v;
      i = p;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The graph's nodes in topological order (producers before consumers, subgraph reads included), keeping
 * the original order among nodes that are free to go. Tensors nobody in the graph produces (inputs,
 * initializers, outer-scope names) are available from the start. Throws UnsupportedModelError on a cycle.
 */
export function topoSort(graph: Graph): Node[] {
  const nodes = graph.node;
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output) if (o !== '') producer.set(o, i);
  });
  const waiting = new Array<number>(nodes.length).fill(0);
  const dependents: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    const from = new Set<number>();
    for (const r of nodeReads(n)) {
      const p = producer.get(r);
      if (p !== undefined && p !== i) from.add(p);
      else if (p === i) throw new UnsupportedModelError(`node '${n.name || n.opType}' reads its own output '${r}' (a cycle)`);
    }
    waiting[i] = from.size;
    for (const p of from) dependents[p]!.push(i);
  });
  const ready = new MinHeap();
  waiting.forEach((w, i) => {
    if (w === 0) ready.push(i);
  });
  const order: Node[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(nodes[i]!);
    for (const d of dependents[i]!) if (--waiting[d]! === 0) ready.push(d);
  }
  if (order.length < nodes.length) {
    const stuck = nodes.find((_, i) => waiting[i]! > 0)!;
    throw new UnsupportedModelError(`graph '${graph.name}' has a cycle through node '${stuck.name || stuck.opType}' (${nodes.length - order.length} nodes never become ready)`);
  }
  return order;
}

/** Every name used in a graph and its subgraphs: tensors, nodes, value infos. */
function collectNames(g: Graph, into: Set<string>): void {
  for (const v of [...g.input, ...g.output, ...g.valueInfo]) into.add(v.name);
  for (const t of g.initializer) into.add(t.name);
  for (const s of g.sparseInitializer) if (s.values) into.add(s.values.name);
  for (const n of g.node) {
    into.add(n.name);
    for (const x of [...n.input, ...n.output]) into.add(x);
    for (const a of n.attribute) for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) collectNames(sub, into);
  }
}

/**
 * A namer for new tensors and nodes: `base` itself when the graph does not use it yet, else `base_1`,
 * `base_2`, ... Every name it hands out is remembered, so two calls never return the same name.
 */
export function uniqueNamer(graph: Graph): (base: string) => string {
  const used = new Set<string>();
  collectNames(graph, used);
  return (base) => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
}

/** The opset version imported for `domain` ('' and 'ai.onnx' are the same default domain). */
export function opsetVersion(model: Model, domain = ''): number | undefined {
  const norm = (d: string): string => (d === 'ai.onnx' ? '' : d);
  return model.opsetImport.find((o) => norm(o.domain) === norm(domain))?.version;
}

export function getAttr(node: Node, name: string): Attribute | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** An INT attribute's value, or `fallback` when the node does not have it. */
export function attrInt(node: Node, name: string, fallback: number): number {
  return getAttr(node, name)?.i ?? fallback;
}

/** An INTS attribute's values, or undefined when the node does not have it. */
export function attrInts(node: Node, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a === undefined ? undefined : (a.ints ?? []);
}

/** A FLOAT attribute's value, or `fallback` when the node does not have it. */
export function attrFloat(node: Node, name: string, fallback: number): number {
  return getAttr(node, name)?.f ?? fallback;
}

/** A STRING attribute's value decoded as UTF-8, or `fallback`. */
export function attrString(node: Node, name: string, fallback: string): string {
  const s = getAttr(node, name)?.s;
  return s === undefined ? fallback : new TextDecoder().decode(s);
}

/**
 * Float attributes of default-domain ops, so `makeNode('LeakyRelu', ..., { alpha: 1 })` makes a FLOAT
 * even though 1 is an integer.
 */
const FLOAT_ATTRS: Record<string, readonly string[]> = {
  BatchNormalization: ['epsilon', 'momentum'],
  Celu: ['alpha'],
  Clip: ['min', 'max'],
  Elu: ['alpha'],
  Gemm: ['alpha', 'beta'],
  HardSigmoid: ['alpha', 'beta'],
  InstanceNormalization: ['epsilon'],
  LayerNormalization: ['epsilon'],
  GroupNormalization: ['epsilon'],
  LeakyRelu: ['alpha'],
  LRN: ['alpha', 'beta', 'bias'],
  RMSNormalization: ['epsilon'],
  Resize: ['cubic_coeff_a', 'extrapolation_value'],
  RoiAlign: ['spatial_scale'],
  Selu: ['alpha', 'gamma'],
  Shrink: ['bias', 'lambd'],
  ThresholdedRelu: ['alpha'],
  RandomNormal: ['mean', 'scale', 'seed'],
  RandomNormalLike: ['mean', 'scale', 'seed'],
  RandomUniform: ['high', 'low', 'seed'],
  RandomUniformLike: ['high', 'low', 'seed'],
  Bernoulli: ['seed'],
  Dropout: ['ratio'],
};

/** Attribute values `makeNode` takes. */
export type AttrValue = number | number[] | string | TensorProto | Graph;

function isGraph(v: TensorProto | Graph): v is Graph {
  return Array.isArray((v as Graph).node);
}

/** One attribute; numbers are FLOAT(S) when `asFloat` or when any value is not an integer, else INT(S). */
export function makeAttribute(name: string, value: AttrValue, asFloat = false): Attribute {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return asFloat || !Number.isInteger(value) ? { name, type: AttributeType.FLOAT, f: value } : { name, type: AttributeType.INT, i: value };
  }
  if (Array.isArray(value)) {
    return asFloat || value.some((v) => !Number.isInteger(v))
      ? { name, type: AttributeType.FLOATS, floats: [...value] }
      : { name, type: AttributeType.INTS, ints: [...value] };
  }
  if (isGraph(value)) return { name, type: AttributeType.GRAPH, g: value };
  return { name, type: AttributeType.TENSOR, t: value };
}

/**
 * A new node. Attribute values map to types like onnx.helper.make_node: a string is STRING, a TensorProto
 * TENSOR, a Graph GRAPH; numbers are INT/INTS when all are integers, else FLOAT/FLOATS.
 *
 * Asking for a FLOAT with an integral value (alpha = 1): list the attribute in `floatAttrs`, e.g.
 * `makeNode('Foo', ins, outs, 'foo', { scale: 1 }, 'com.x', ['scale'])`. For default-domain ops the known
 * float attributes (LeakyRelu/Elu/Gemm alpha and beta, *Normalization epsilon, Clip min/max, ...) are
 * FLOAT without asking. An empty array is INTS unless listed. Attributes come out sorted by name, as
 * onnx.helper writes them.
 */
export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attrs: Record<string, AttrValue> = {},
  domain = '',
  floatAttrs: readonly string[] = [],
): Node {
  const known = domain === '' || domain === 'ai.onnx' ? (FLOAT_ATTRS[opType] ?? []) : [];
  const attribute = Object.keys(attrs)
    .sort()
    .map((k) => makeAttribute(k, attrs[k]!, floatAttrs.includes(k) || known.includes(k)));
  return { input: [...inputs], output: [...outputs], name, opType, domain, attribute };
}

/** A ValueInfo for a tensor: element type and, when given, a shape (a string is a symbolic dim). */
export function makeValueInfo(name: string, elemType: number, dims?: readonly (number | string)[]): ValueInfo {
  const shape = dims === undefined ? undefined : { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: shape === undefined ? { elemType } : { elemType, shape } } };
}

/**
 * A copy of `model` whose main graph also outputs `names` (skipping ones it already outputs), for reading
 * intermediate tensors in onnxruntime. Each new output takes its type from value_info, inputs or
 * initializers when the model has one, else carries only its name (onnxruntime infers the rest). The
 * input model is not changed; the copy shares everything but the graph object and its output list.
 */
export function withOutputs(model: Model, names: string[]): Model {
  const g = model.graph;
  const have = new Set(g.output.map((v) => v.name));
  const known = new Map<string, ValueInfo>();
  for (const v of [...g.valueInfo, ...g.input]) if (v.type) known.set(v.name, v);
  for (const t of g.initializer) if (!known.has(t.name)) known.set(t.name, makeValueInfo(t.name, t.dataType, t.dims));
  const extra: ValueInfo[] = [];
  for (const n of names) {
    if (have.has(n)) continue;
    have.add(n);
    const v = known.get(n);
    extra.push(v ? { name: n, type: v.type } : { name: n });
  }
  return { ...model, graph: { ...g, output: [...g.output, ...extra] } };
}
