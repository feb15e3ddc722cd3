/**
 * Weight-only int8: the constant weights of MatMul, Gemm, Conv and ConvTranspose are stored as int8
 * (symmetric; per channel on the output-channel axis by default) with one DequantizeLinear each;
 * activations, biases and every other op stay float. No calibration is needed. For small MLPs such
 * as the DQN policy this quarters the weight bytes at an error far below the activation noise.
 */
import { attrInt, makeNode, uniqueNamer } from '../onnx/graph.js';
import { makeTensor } from '../onnx/tensor.js';
import { DataType, type Model, type Node, type TensorProto } from '../onnx/types.js';
import type { QdqResult, SkippedNode } from '../qdq/options.js';
import { ensureQdqOpset } from '../qdq/opset.js';
import { cloneForRewrite, constantsToInitializers, nameNodes } from '../qdq/prepare.js';
import { quantizeWeight } from '../qdq/weights.js';

/** Options of `quantizeWeightsOnly`. */
export interface WeightOnlyOptions {
  /** Per-channel scales (default true); false: one scale per weight. */
  perChannel?: boolean;
  /** Node names to keep in float. */
  excludeNodes?: string[];
  /** Op types to keep in float. */
  excludeOpTypes?: string[];
}

/** The ops whose weight (input 1) is quantized. */
export const WEIGHT_ONLY_OPS: readonly string[] = Object.freeze(['MatMul', 'Gemm', 'Conv', 'ConvTranspose']);

/** The output-channel axis of the weight of `node` (rank `rank`). */
function channelAxis(node: Node, rank: number): number {
  switch (node.opType) {
    case 'Conv':
      return 0;
    case 'ConvTranspose':
      return 1;
    case 'Gemm':
      return attrInt(node, 'transB', 0) === 1 ? 0 : 1;
    default:
      return rank - 1; // MatMul [..., K, N]
  }
}

/**
 * Quantizes the weights of MatMul/Gemm/Conv/ConvTranspose to int8 with a DequantizeLinear each.
 * The input model is not modified. A weight shared by several nodes is quantized once (with the axis
 * of its first user); a weight computed at run time, or not float32, is skipped with the reason.
 */
export function quantizeWeightsOnly(model: Model, opts: WeightOnlyOptions = {}): QdqResult {
  const perChannel = opts.perChannel ?? true;
  const copy = cloneForRewrite(model);
  const g = copy.graph;
  nameNodes(g);
  ensureQdqOpset(copy, perChannel);
  constantsToInitializers(g);
  const name = uniqueNamer(g);
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const graphInputs = new Set(g.input.map((v) => v.name));
  const excludeNodes = new Set(opts.excludeNodes ?? []);
  const excludeOps = new Set(opts.excludeOpTypes ?? []);
  const done = new Map<string, string>(); // weight name -> DequantizeLinear output
  const dequantizers: Node[] = [];
  const added: TensorProto[] = [];
  const quantizedNodes: string[] = [];
  const skipped: SkippedNode[] = [];

  for (const node of g.node) {
    if (!WEIGHT_ONLY_OPS.includes(node.opType) || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const skip = (reason: string): void => void skipped.push({ node: node.name, opType: node.opType, reason });
    if (excludeNodes.has(node.name)) skip('excluded by name');
    else if (excludeOps.has(node.opType)) skip(`op type ${node.opType} excluded`);
    else {
      const w = node.input[1] ?? '';
      const tensor = inits.get(w);
      if (!tensor || graphInputs.has(w)) skip(`its weight '${w}' is computed at run time`);
      else if (tensor.dataType !== DataType.FLOAT) skip(`its weight '${w}' is not float32`);
      else {
        let out = done.get(w);
        if (!out) {
          const axis = perChannel && tensor.dims.length > 1 ? channelAxis(node, tensor.dims.length) : undefined;
          const q = quantizeWeight(tensor, { type: 'int8', symmetric: true, reduceRange: false, ...(axis === undefined ? {} : { axis }) });
          const dims = axis === undefined ? [] : [q.params.length];
          const data = makeTensor(name(`${w}_quantized`), DataType.INT8, [...tensor.dims], q.data);
          const scale = makeTensor(name(`${w}_scale`), DataType.FLOAT, dims, Float32Array.from(q.params, (p) => p.scale));
          const zp = makeTensor(name(`${w}_zero_point`), DataType.INT8, dims, new Int8Array(q.params.length));
          added.push(data, scale, zp);
          out = name(`${w}_DequantizeLinear_Output`);
          dequantizers.push(makeNode('DequantizeLinear', [data.name, scale.name, zp.name], [out], name(`${w}_DequantizeLinear`), axis === undefined ? undefined : { axis }));
          done.set(w, out);
        }
        node.input[1] = out;
        quantizedNodes.push(node.name);
      }
    }
  }
  const stillRead = new Set(g.node.flatMap((n) => n.input));
  for (const o of g.output) stillRead.add(o.name);
  for (const t of subgraphReads(g.node)) stillRead.add(t);
  g.initializer = [...g.initializer.filter((t) => !done.has(t.name) || stillRead.has(t.name)), ...added];
  g.node = [...dequantizers, ...g.node];
  return { model: copy, quantizedNodes, skipped };
}

/** Names read inside subgraphs of these nodes. */
function subgraphReads(nodes: readonly Node[]): Set<string> {
  const out = new Set<string>();
  const visit = (ns: readonly Node[]): void => {
    for (const n of ns) {
      for (const a of n.attribute) {
        for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) {
          for (const m of sub.node) for (const i of m.input) out.add(i);
          visit(sub.node);
        }
      }
    }
  };
  visit(nodes);
  return out;
}
