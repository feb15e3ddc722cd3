/**
 * The layers the post-training methods work on: the Conv, ConvTranspose, Gemm and MatMul nodes whose
 * weight `quantizeQdq` stores as a quantized initializer, each with the WeightSpec it will be
 * quantized with and the view of its weight as one row of K values per output channel.
 *
 * Which nodes and which spec are not decided here: the QDQ plan (qdq/plan.ts) is built on a copy
 * prepared exactly as `quantizeQdq` prepares it, and the spec follows rewrite.ts's `quantizeInits`
 * (`symmetric` for per-channel and int8 weights); adaround.test.ts checks, for per-channel int8,
 * 7-bit, ConvTranspose axis-1 and per-tensor uint8 weights, that the integers quantizeQdq stores are
 * those of `quantizeWeight` with these specs, so the two cannot drift apart unnoticed.
 */
import { attrFloat, attrInt } from '../onnx/graph.js';
import { elementCount } from '../onnx/tensor.js';
import { type Graph, type Model, type Node, type TensorProto } from '../onnx/types.js';
import { ensureQdqOpset } from '../qdq/opset.js';
import { resolveQdqOptions, type QdqOptions } from '../qdq/options.js';
import { buildPlan } from '../qdq/plan.js';
import { cloneForRewrite, constantsToInitializers, nameNodes } from '../qdq/prepare.js';
import type { WeightSpec } from '../qdq/weights.js';

/** The four weighted ops. */
export type LayerOp = 'Conv' | 'ConvTranspose' | 'Gemm' | 'MatMul';

/** A weighted node, its weight seen as `outChannels` rows of `rowLength` values. */
export interface LayerTarget {
  /** Node name (unnamed nodes get quantizeQdq's `<OpType>_<index>` names). */
  node: string;
  op: LayerOp;
  /** The activation input (the patches come from it). */
  input: string;
  /** Weight initializer name in the working copy (`prepareWorkingCopy`). */
  weight: string;
  /** Bias initializer name, when the node has a constant one (Conv/ConvTranspose/Gemm input 2). */
  bias?: string;
  /** How quantizeQdq quantizes the weight. */
  spec: WeightSpec;
  weightDims: number[];
  /** Output channels M. */
  outChannels: number;
  /** Groups G (1 but for grouped Conv/ConvTranspose); output o is in group `floor(o / (M / G))`. */
  groups: number;
  /** K: the length of one output channel's weight row (and of its input patch). */
  rowLength: number;
  /** Gemm's alpha (1 for the others): the output is `alpha * patch . row + beta * bias`. */
  alpha: number;
  /** Gemm's beta (1 for the others). */
  beta: number;
  /** Gemm: the weight is [N, K] (transB = 1); otherwise a Gemm or MatMul weight is [K, N]. */
  transB?: boolean;
}

/** A node the methods leave alone, and why. */
export interface SkippedLayer {
  node: string;
  reason: string;
}

/**
 * The model the methods edit: a copy with quantizeQdq's node names and Constant tensors turned into
 * initializers (both what quantizeQdq does first), so weights are initializers found by node name.
 */
export function prepareWorkingCopy(model: Model): Model {
  const copy = cloneForRewrite(model);
  nameNodes(copy.graph);
  constantsToInitializers(copy.graph);
  return copy;
}

/** Flat index of element k of output channel o's weight row. */
export function rowIndexer(t: LayerTarget): (o: number, k: number) => number {
  const K = t.rowLength;
  if (t.op === 'Conv' || (t.op === 'Gemm' && t.transB === true)) return (o, k) => o * K + k;
  if (t.op === 'ConvTranspose') {
    // W [C, M/G, k...]: row k = (c_local, kernel position)
    const mg = t.outChannels / t.groups;
    const cg = t.weightDims[0]! / t.groups;
    const kk = K / cg;
    return (o, k) => {
      const g = Math.floor(o / mg);
      const c = g * cg + Math.floor(k / kk);
      return (c * mg + (o % mg)) * kk + (k % kk);
    };
  }
  const n = t.outChannels; // B [K, N]
  return (o, k) => k * n + o;
}

function initializerMap(graph: Graph): Map<string, TensorProto> {
  const inputs = new Set(graph.input.map((v) => v.name));
  return new Map(graph.initializer.filter((t) => !inputs.has(t.name)).map((t) => [t.name, t]));
}

/** The row view of a node's weight, or why it has none. */
function layout(node: Node, w: TensorProto): Omit<LayerTarget, 'node' | 'op' | 'input' | 'weight' | 'bias' | 'spec' | 'weightDims'> | string {
  const d = w.dims;
  switch (node.opType) {
    case 'Conv':
    case 'ConvTranspose': {
      if (d.length !== 3 && d.length !== 4) return `${d.length - 2}-D ${node.opType} is not handled (1-D and 2-D are)`;
      const groups = attrInt(node, 'group', 1);
      const kernel = elementCount(d.slice(2));
      const convT = node.opType === 'ConvTranspose';
      const outChannels = convT ? d[1]! * groups : d[0]!;
      const rowLength = (convT ? d[0]! / groups : d[1]!) * kernel;
      return { outChannels, groups, rowLength, alpha: 1, beta: 1 };
    }
    case 'Gemm': {
      const transB = attrInt(node, 'transB', 0) === 1;
      if (d.length !== 2) return 'Gemm weight is not 2-D';
      return { outChannels: transB ? d[0]! : d[1]!, groups: 1, rowLength: transB ? d[1]! : d[0]!, alpha: attrFloat(node, 'alpha', 1), beta: attrFloat(node, 'beta', 1), transB };
    }
    default:
      if (d.length !== 2) return `MatMul with a ${d.length}-D constant B is not handled (2-D is)`;
      return { outChannels: d[1]!, groups: 1, rowLength: d[0]!, alpha: 1, beta: 1 };
  }
}

/**
 * The weighted nodes quantizeQdq would quantize with these options, with their specs, and the weighted
 * nodes left out (with the reason). `model` should be `prepareWorkingCopy`'s output, whose names the
 * targets use.
 */
export function findTargets(model: Model, options: QdqOptions): { targets: LayerTarget[]; skipped: SkippedLayer[] } {
  const opts = resolveQdqOptions(options);
  const planned = cloneForRewrite(model);
  nameNodes(planned.graph);
  const opset = ensureQdqOpset(planned, opts.perChannel);
  constantsToInitializers(planned.graph);
  const plan = buildPlan(planned.graph, opts, opset);
  const plannedNodes = new Map(planned.graph.node.map((n) => [n.name, n]));
  const inits = initializerMap(model.graph);
  const targets: LayerTarget[] = [];
  const skipped: SkippedLayer[] = [];
  for (const node of model.graph.node) {
    if (!['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(node.opType) || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const p = plannedNodes.get(node.name);
    const mark = p?.input[1] ? plan.inits.get(p.input[1]) : undefined;
    const w = node.input[1] ? inits.get(node.input[1]) : undefined;
    const skip = (reason: string): void => void skipped.push({ node: node.name, reason });
    if (!p || !plan.quantized.has(p) || mark?.role !== 'weight' || !w) {
      skip(w ? 'quantizeQdq leaves its weight in float with these options' : 'its weight is not a constant initializer');
      continue;
    }
    const view = layout(node, w);
    if (typeof view === 'string') {
      skip(view);
      continue;
    }
    const type = opts.weightType;
    const spec: WeightSpec = { type, symmetric: mark.axis !== undefined || type === 'int8', reduceRange: opts.reduceRange, ...(mark.axis !== undefined ? { axis: mark.axis } : {}) };
    const b = node.opType === 'MatMul' ? undefined : node.input[2];
    targets.push({
      node: node.name,
      op: node.opType as LayerOp,
      input: node.input[0]!,
      weight: w.name,
      ...(b && inits.has(b) ? { bias: b } : {}),
      spec,
      weightDims: [...w.dims],
      ...view,
    });
  }
  return { targets, skipped };
}
