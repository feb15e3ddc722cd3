/**
 * Bias correction (Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias
 * Correction", 2019, section 4.2, with the input mean measured on calibration data): weight rounding
 * shifts the expected output of channel o by
 *
 *   shift_o = alpha * sum_k (w^_ok - w_ok) * E[x_k]
 *
 * with w^ the weight exactly as quantizeQdq will dequantize it (grid.ts) and E[x] the layer's mean
 * input patch (layer-stats.ts); the bias absorbs it: `b_o -= shift_o / beta`. A Conv, ConvTranspose
 * or Gemm without a bias gets one; a MatMul is corrected through the constant of an Add that alone
 * consumes it. The input model is not changed.
 */
import { elementCount } from '../onnx/tensor.js';
import type { Graph, Model, Node } from '../onnx/types.js';
import { cloneForRewrite } from '../qdq/prepare.js';
import { dequantizedWeight, floatInitializer, setInitializer, weightGrid } from './grid.js';
import type { LayerMoments, LayerStats } from './layer-stats.js';
import { rowIndexer, type LayerTarget, type SkippedLayer } from './targets.js';

/** What bias correction did to one layer. */
export interface BiasCorrectionLayer {
  node: string;
  /** The bias tensor written (the node's, a copy when shared, or a new one). */
  bias: string;
  /** The node had no bias; a zero one was added before the correction. */
  added: boolean;
  /** Largest |shift_o| and the root mean square over channels. */
  maxShift: number;
  rmsShift: number;
}

/** Bias correction's result. */
export interface BiasCorrectionResult {
  model: Model;
  layers: BiasCorrectionLayer[];
  skipped: SkippedLayer[];
}

/** Options of `correctBias`. */
export interface BiasCorrectionOptions {
  /**
   * The float model whose weights are the reference (default: `stats.model`, the model the moments
   * were taken on). Give it when `model` holds rounded weights (adaround.ts's output): the shift is
   * then the one of the rounding chosen there.
   */
  reference?: Model;
}

/** shift_o for every output channel of a layer (alpha included). */
export function expectedShift(target: LayerTarget, quantized: Float32Array, float: Float32Array, mean: readonly Float64Array[]): Float64Array {
  const index = rowIndexer(target);
  const perGroup = target.outChannels / target.groups;
  const shift = new Float64Array(target.outChannels);
  for (let o = 0; o < target.outChannels; o++) {
    const mu = mean[Math.floor(o / perGroup)]!;
    let s = 0;
    for (let k = 0; k < target.rowLength; k++) {
      const i = index(o, k);
      s += (quantized[i]! - float[i]!) * mu[k]!;
    }
    shift[o] = target.alpha * s;
  }
  return shift;
}

/** The Add that alone consumes a MatMul's output, and its constant input's index, if any. */
function addAfter(graph: Graph, node: Node): { add: Node; index: number } | undefined {
  const out = node.output[0];
  if (!out || graph.output.some((o) => o.name === out)) return undefined;
  const readers = graph.node.filter((n) => n.input.includes(out));
  const add = readers[0];
  if (readers.length !== 1 || add?.opType !== 'Add' || add.input.length !== 2) return undefined;
  const index = add.input[0] === out ? 1 : 0;
  return floatInitializer(graph, add.input[index]) ? { add, index } : undefined;
}

/** Subtracts `delta[o]` along the last axis of a bias of shape `dims` (length M, or last dim M, or one value). */
function subtractAlongLast(values: Float32Array, dims: number[], delta: Float64Array): { values: Float32Array; dims: number[] } | undefined {
  const M = delta.length;
  if (values.length === 1) return { values: Float32Array.from(delta, (d) => values[0]! - d), dims: [M] };
  if (dims[dims.length - 1] !== M || values.length % M !== 0) return undefined;
  return { values: values.map((v, i) => v - delta[i % M]!), dims };
}

/** Corrects one layer in `graph` (a copy); returns the summary or why it was skipped. */
function correctLayer(graph: Graph, node: Node, m: LayerMoments, float: Float32Array): BiasCorrectionLayer | string {
  const t = m.target;
  const weight = floatInitializer(graph, node.input[1]);
  if (!weight) return 'its weight is no longer a float initializer';
  const q = dequantizedWeight(weightGrid(weight.tensor, t.spec));
  const shift = expectedShift(t, q, float, m.mean);
  let maxShift = 0;
  let sq = 0;
  for (const s of shift) {
    maxShift = Math.max(maxShift, Math.abs(s));
    sq += s * s;
  }
  const summary = { node: t.node, maxShift, rmsShift: Math.sqrt(sq / shift.length) };
  if (t.beta === 0) return 'Gemm beta is 0: its bias input is ignored';
  const delta = shift.map((s) => s / t.beta);
  if (t.op === 'MatMul') {
    const after = addAfter(graph, node);
    if (!after) return 'MatMul has no bias: bias correction needs an Add of a constant as its only consumer';
    const c = floatInitializer(graph, after.add.input[after.index])!;
    const next = subtractAlongLast(c.values, [...c.tensor.dims], delta);
    if (!next) return `the Add constant after it has shape [${c.tensor.dims.join(', ')}], not one value per output channel`;
    const bias = setInitializer(graph, after.add, after.index, next.values, next.dims, `${c.tensor.name}_corrected`);
    return { ...summary, bias, added: false };
  }
  const present = node.input[2] !== undefined && node.input[2] !== '';
  if (!present) {
    const bias = setInitializer(graph, node, 2, Float32Array.from(delta, (d) => -d), [t.outChannels], `${t.node}_bias`);
    return { ...summary, bias, added: true };
  }
  const b = floatInitializer(graph, node.input[2]);
  if (!b) return 'its bias is computed at run time, not a constant';
  const next = subtractAlongLast(b.values, [...b.tensor.dims], delta);
  if (!next || (t.op !== 'Gemm' && elementCount(next.dims) !== t.outChannels)) return `its bias has shape [${b.tensor.dims.join(', ')}], not one value per output channel`;
  const bias = setInitializer(graph, node, 2, next.values, next.dims, `${b.tensor.name}_corrected`);
  return { ...summary, bias, added: false };
}

/**
 * Bias correction of every layer in `stats` (moments taken on the float model with the QdqOptions
 * that will quantize it: the weight specs come from there). `model` is `stats.model` or a model the
 * ptq methods derived from it (same node names). Returns a new Model and per-layer summaries.
 */
export function correctBias(model: Model, stats: LayerStats, opts: BiasCorrectionOptions = {}): BiasCorrectionResult {
  const out = cloneForRewrite(model);
  const nodes = new Map(out.graph.node.map((n) => [n.name, n]));
  const reference = opts.reference ?? stats.model;
  const refNodes = new Map(reference.graph.node.map((n) => [n.name, n]));
  const layers: BiasCorrectionLayer[] = [];
  const skipped: SkippedLayer[] = [...stats.skipped];
  for (const [name, m] of stats.layers) {
    const node = nodes.get(name);
    const float = floatInitializer(reference.graph, refNodes.get(name)?.input[1]);
    const r = !node ? 'the node is not in the model' : !float ? 'the reference model has no float weight for it' : correctLayer(out.graph, node, m, float.values);
    if (typeof r === 'string') skipped.push({ node: name, reason: r });
    else layers.push(r);
  }
  return { model: out, layers, skipped };
}
