/**
 * float32 -> float16 conversion, after onnxconverter-common's `convert_float_to_float16` and with
 * the faults users report fixed:
 * - every float32 initializer, tensor attribute (Constant, ConstantOfShape) and value_info entry of
 *   the fp16 region becomes float16, magnitudes clamped to [1e-7, 1e4] (zero, NaN, inf kept);
 * - blocked ops (DEFAULT_FP16_BLOCK_OPS, `blockOps`, `blockNodes`, ops of other domains, control
 *   flow) stay float32 with a Cast on each tensor crossing the boundary: one Cast per tensor and
 *   precision, shared by all consumers; an initializer used on both sides is stored in both types;
 * - the accumulating reductions (ReduceSum, ReduceMean, ...) are blocked by default: their sums
 *   overflow float16's 65504 (the reported NaNs from ReduceMean);
 * - existing Cast nodes to FLOAT inside the fp16 region cast to FLOAT16 instead (an untouched
 *   Cast(to=FLOAT) feeding an fp16 op makes the graph invalid);
 * - with `keepIoTypes` (default) inputs and outputs keep float32 and their names: Casts after the
 *   inputs and before the outputs; Cast pairs that cancel are removed; the node list is sorted
 *   topologically at the end (an unsorted output graph is another reported fault).
 */
import { topoSort, uniqueNamer } from '../onnx/graph.js';
import { DataType, type Graph, type Model, type Node, type TensorProto, type ValueInfo } from '../onnx/types.js';
import { inferElemTypes } from '../qdq/elem-types.js';
import { cloneForRewrite, nameNodes } from '../qdq/prepare.js';
import { foldCastPairs } from './casts.js';
import { nodeToFp16, tensorToFp16 } from './tensors.js';

export { clampForFp16, FP16_MAX_FINITE, FP16_MIN_POSITIVE } from './tensors.js';

/** Ops kept in float32 by default: onnxconverter-common's list, Q/DQ, and accumulating reductions. */
export const DEFAULT_FP16_BLOCK_OPS: readonly string[] = Object.freeze([
  // onnxconverter-common's DEFAULT_OP_BLOCK_LIST (ai.onnx and ai.onnx.ml ops)
  'ArrayFeatureExtractor', 'Binarizer', 'CastMap', 'CategoryMapper', 'DictVectorizer', 'FeatureVectorizer', 'Imputer',
  'LabelEncoder', 'LinearClassifier', 'LinearRegressor', 'Normalizer', 'OneHotEncoder', 'RandomUniformLike',
  'SVMClassifier', 'SVMRegressor', 'Scaler', 'TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'ZipMap',
  'NonMaxSuppression', 'TopK', 'RoiAlign', 'Resize', 'Range', 'CumSum', 'Min', 'Max', 'Upsample',
  // scales of Q/DQ must stay float32 before opset 19
  'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear',
  // sums that overflow float16
  'ReduceSum', 'ReduceMean', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceProd',
]);

/** Ops with subgraphs: kept float32 whole (their bodies are not converted). */
const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);

/** Inputs that the op schema requires in float32 even when the op runs in float16. */
const FLOAT32_INPUTS: Readonly<Record<string, readonly number[]>> = { Resize: [2], Upsample: [1] };

/** Options of `convertFp16`. */
export interface Fp16Options {
  /** Keep float32 graph inputs and outputs (Casts inside the graph). Default true. */
  keepIoTypes?: boolean;
  /** Op types kept in float32, added to DEFAULT_FP16_BLOCK_OPS. */
  blockOps?: string[];
  /** Node names kept in float32. */
  blockNodes?: string[];
}

type Prec = 16 | 32;

class Fp16Converter {
  private readonly name: (base: string) => string;
  private readonly types: Map<string, number>;
  private readonly order: Node[];
  private readonly blocked = new Set<Node>();
  /** Name of each float tensor in each precision, once it exists. */
  private readonly versions = new Map<string, Map<Prec, string>>();
  private readonly producer = new Map<string, Node>();
  private readonly made = new Set<Node>();
  private readonly newNodes: Node[] = [];
  /** Final element types (after conversion), for the Cast folding. */
  readonly finalTypes = new Map<string, number>();

  constructor(
    private readonly graph: Graph,
    private readonly keepIo: boolean,
    blockOps: ReadonlySet<string>,
    blockNodes: ReadonlySet<string>,
  ) {
    this.name = uniqueNamer(graph);
    this.order = topoSort(graph);
    this.types = inferElemTypes(graph, this.order);
    for (const n of this.order) {
      const foreign = n.domain !== '' && n.domain !== 'ai.onnx';
      if (blockOps.has(n.opType) || blockNodes.has(n.name) || foreign || CONTROL_FLOW.has(n.opType)) this.blocked.add(n);
      for (const o of n.output) if (o) this.producer.set(o, n);
    }
  }

  private isFloat(t: string | undefined): t is string {
    return !!t && this.types.get(t) === DataType.FLOAT;
  }

  private prec(node: Node): Prec {
    return this.blocked.has(node) ? 32 : 16;
  }

  /** The precision each consumer wants for input `i` of `node`. */
  private wants(node: Node, i: number): Prec {
    return this.blocked.has(node) || (FLOAT32_INPUTS[node.opType] ?? []).includes(i) ? 32 : 16;
  }

  private setVersion(t: string, p: Prec, name: string): void {
    const v = this.versions.get(t) ?? new Map<Prec, string>();
    v.set(p, name);
    this.versions.set(t, v);
    this.finalTypes.set(name, p === 16 ? DataType.FLOAT16 : DataType.FLOAT);
  }

  private cast(from: string, to: string, p: Prec): Node {
    const node: Node = {
      input: [from],
      output: [to],
      name: this.name(`${to}_Cast`),
      opType: 'Cast',
      domain: '',
      attribute: [{ name: 'to', type: 2, i: p === 16 ? DataType.FLOAT16 : DataType.FLOAT }],
    };
    this.made.add(node);
    this.newNodes.push(node);
    return node;
  }

  /** The name of tensor `t` in precision `p`, adding a Cast from the existing version when needed. */
  private version(t: string, p: Prec): string {
    const v = this.versions.get(t);
    const have = v?.get(p);
    if (have) return have;
    const src = v?.get(p === 16 ? 32 : 16);
    if (!src) return t; // unknown source: leave the reference as it is
    const out = this.name(`${t}_${p === 16 ? 'fp16' : 'fp32'}`);
    this.cast(src, out, p);
    this.setVersion(t, p, out);
    return out;
  }

  run(): string[] {
    const g = this.graph;
    const outputs = new Set(g.output.map((o) => o.name));
    // Graph inputs: float32 when keeping I/O types, else float16 (declared type changes).
    for (const vi of g.input) {
      if (!this.isFloat(vi.name) || g.initializer.some((t) => t.name === vi.name)) continue;
      const p: Prec = this.keepIo ? 32 : 16;
      if (p === 16) setElemType(vi, DataType.FLOAT16);
      this.setVersion(vi.name, p, vi.name);
    }
    this.convertInitializers();
    // Node outputs take the node's precision; a graph output in the other precision gets a Cast.
    for (const node of this.order) {
      const p = this.prec(node);
      if (p === 16) nodeToFp16(node);
      node.output.forEach((o, k) => {
        if (!this.isFloat(o)) return;
        const want: Prec = this.keepIo ? 32 : 16;
        if (outputs.has(o) && want !== p) {
          const inner = this.name(`${o}_${p === 16 ? 'fp16' : 'fp32'}`);
          node.output[k] = inner;
          this.setVersion(o, p, inner);
          this.cast(inner, o, want);
          this.setVersion(o, want, o);
        } else this.setVersion(o, p, o);
      });
    }
    for (const node of this.order) {
      node.input = node.input.map((t, i) => (this.isFloat(t) ? this.version(t, this.wants(node, i)) : t));
      if (CONTROL_FLOW.has(node.opType)) this.pinOuterReads(node);
    }
    if (!this.keepIo) for (const vi of g.output) if (this.isFloat(vi.name)) setElemType(vi, DataType.FLOAT16);
    g.valueInfo = g.valueInfo.map((vi) => (this.finalTypes.get(vi.name) === DataType.FLOAT16 ? withElemType(vi, DataType.FLOAT16) : vi));
    g.node = [...this.order, ...this.newNodes];
    for (const [t, type] of this.types) if (!this.finalTypes.has(t)) this.finalTypes.set(t, type);
    foldCastPairs(g, this.made, this.finalTypes);
    g.node = topoSort(g);
    return this.order.filter((n) => this.blocked.has(n) && [...n.input, ...n.output].some((t) => this.isFloat(t))).map((n) => n.name);
  }

  /**
   * A control-flow node's bodies stay float32 and read outer tensors by name: give them their own
   * copies (the attribute graphs are shared with the caller's model) reading the float32 versions.
   */
  private pinOuterReads(node: Node): void {
    node.attribute = node.attribute.map((a) => {
      if (!a.g && !a.graphs) return a;
      const copy = structuredClone(a);
      for (const body of [...(copy.g ? [copy.g] : []), ...(copy.graphs ?? [])]) this.renameOuter(body, new Set());
      return copy;
    });
  }

  private renameOuter(body: Graph, outerShadow: ReadonlySet<string>): void {
    const local = new Set([...outerShadow, ...body.input.map((v) => v.name), ...body.initializer.map((t) => t.name)]);
    for (const n of body.node) for (const o of n.output) local.add(o);
    for (const n of body.node) {
      n.input = n.input.map((t) => (t && !local.has(t) && this.isFloat(t) ? this.version(t, 32) : t));
      for (const a of n.attribute) for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) this.renameOuter(g, local);
    }
  }

  /** float32 initializers: converted in place, kept, or stored in both types, by their consumers. */
  private convertInitializers(): void {
    const g = this.graph;
    const graphInputs = new Set(g.input.map((v) => v.name));
    const wanted = new Map<string, Set<Prec>>();
    for (const node of this.order) {
      node.input.forEach((t, i) => {
        if (t) wanted.set(t, (wanted.get(t) ?? new Set<Prec>()).add(this.wants(node, i)));
      });
    }
    const extra: TensorProto[] = [];
    g.initializer = g.initializer.map((t) => {
      if (t.dataType !== DataType.FLOAT) return t;
      const w = wanted.get(t.name) ?? new Set<Prec>();
      const pinned = graphInputs.has(t.name) || g.output.some((o) => o.name === t.name);
      if (!w.has(16)) {
        this.setVersion(t.name, 32, t.name);
        return t;
      }
      if (!w.has(32) && !pinned) {
        this.setVersion(t.name, 16, t.name);
        return tensorToFp16(t);
      }
      const copy = tensorToFp16(t, this.name(`${t.name}_fp16`));
      extra.push(copy);
      this.setVersion(t.name, 32, t.name);
      this.setVersion(t.name, 16, copy.name);
      return t;
    });
    g.initializer.push(...extra);
  }
}

function withElemType(vi: ValueInfo, elemType: number): ValueInfo {
  const tt = vi.type?.tensorType;
  return tt ? { ...vi, type: { ...vi.type, tensorType: { ...tt, elemType } } } : vi;
}

function setElemType(vi: ValueInfo, elemType: number): void {
  const tt = vi.type?.tensorType;
  if (tt) vi.type = { ...vi.type, tensorType: { ...tt, elemType } };
}

/**
 * Converts a float32 model to float16 (see the module comment). The input model is not modified.
 * Returns the new model and the names of the nodes kept in float32 (blocked nodes with float data).
 */
export function convertFp16(model: Model, opts: Fp16Options = {}): { model: Model; blocked: string[] } {
  const copy = cloneForRewrite(model);
  nameNodes(copy.graph);
  copy.graph.input = copy.graph.input.map((v) => ({ ...v }));
  copy.graph.output = copy.graph.output.map((v) => ({ ...v }));
  const blockOps = new Set([...DEFAULT_FP16_BLOCK_OPS, ...(opts.blockOps ?? [])]);
  const converter = new Fp16Converter(copy.graph, opts.keepIoTypes ?? true, blockOps, new Set(opts.blockNodes ?? []));
  const blocked = converter.run();
  return { model: copy, blocked };
}
