/**
 * `akb inspect`: what a model is made of, as a JSON-able report.
 */
import { UnsupportedModelError } from '../onnx/errors.js';
import { dataTypeName, elementCount, tensorByteLength } from '../onnx/tensor.js';
import type { Graph, Model, Node, TensorProto, ValueInfo } from '../onnx/types.js';
import { ortThreadOptions } from '@akb/jscc';
import { MAC_OPS, macInputs, nodeMacs } from './macs.js';
import { probeShapes, realInputs, staticShapes } from './probe.js';
import { quantHandling, type QuantHandling } from './support.js';

export interface TensorSummary {
  name: string;
  /** Element type name (`FLOAT`, `INT64`, ...), or `UNKNOWN(0)` when the model does not say. */
  type: string;
  /** Dims: numbers, symbolic names, or '?' for an unnamed unknown dim; null when the rank is unknown. */
  shape: (number | string)[] | null;
}

export interface OpSummary {
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  count: number;
  /** Total MACs of these nodes (null when the op is not counted or shapes are unknown). */
  macs: number | null;
  /** What the quantizer does with it, or 'float' when it leaves the op in float. */
  quantizer: QuantHandling | 'float';
}

export interface DataTypeSummary {
  type: string;
  tensors: number;
  elements: number;
  bytes: number;
}

export interface InspectReport {
  irVersion: number;
  producer: string | null;
  /** The default domain shows as 'ai.onnx'. */
  opsets: { domain: string; version: number }[];
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  /** Nodes of the main graph and of every subgraph. */
  nodes: number;
  subgraphNodes: number;
  /** Histogram, most frequent first. */
  ops: OpSummary[];
  /** Initializers (subgraphs' too) and sparse initializers' stored values. */
  parameters: { count: number; bytes: number; byType: DataTypeSummary[] };
  /** Tensors held by Constant nodes. */
  constants: { count: number; bytes: number };
  macs: {
    /** Sum over counted ops; null when no shapes could be found. */
    total: number | null;
    /** Where shapes came from: the model's own value_info, a probe run, or nowhere. */
    shapesFrom: 'model' | 'probe' | 'unavailable';
    /** Dynamic input dims, set to 1 for the probe: MACs are per item of these. */
    dynamicDims: string[];
    /** Counted nodes whose MACs could not be found. */
    unknownNodes: number;
    note?: string;
  };
  quantizer: { quantized: string[]; keptFloat: string[] };
}

/** Options of `inspectModel`. */
export interface InspectOptions {
  /** Run the model in onnxruntime when the model's own shapes are not enough (default true). */
  probe?: boolean;
}

const domainName = (d: string): string => (d === '' ? 'ai.onnx' : d);

function summarize(v: ValueInfo): TensorSummary {
  const tt = v.type?.tensorType;
  const shape = tt?.shape ? tt.shape.dim.map((d) => d.dimValue ?? d.dimParam ?? '?') : null;
  return { name: v.name, type: dataTypeName(tt?.elemType ?? 0), shape };
}

/** Every node of a graph and its subgraphs, with the depth it sits at (0 = main graph). */
function allNodes(g: Graph, depth = 0, out: { node: Node; depth: number }[] = []): { node: Node; depth: number }[] {
  for (const node of g.node) {
    out.push({ node, depth });
    for (const a of node.attribute) for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) allNodes(sub, depth + 1, out);
  }
  return out;
}

function allGraphs(g: Graph, out: Graph[] = []): Graph[] {
  out.push(g);
  for (const node of g.node) for (const a of node.attribute) for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) allGraphs(sub, out);
  return out;
}

function storedBytes(t: TensorProto, count: number): number {
  if (t.rawData !== undefined) return t.rawData.length;
  if (t.stringData !== undefined) return t.stringData.reduce((a, s) => a + s.length, 0);
  return tensorByteLength(t.dataType, count) ?? 0;
}

function parameterSummary(graphs: Graph[]): InspectReport['parameters'] {
  const byType = new Map<string, DataTypeSummary>();
  const add = (t: TensorProto, elements: number): void => {
    const type = dataTypeName(t.dataType);
    const s = byType.get(type) ?? { type, tensors: 0, elements: 0, bytes: 0 };
    s.tensors++;
    s.elements += elements;
    s.bytes += storedBytes(t, elements);
    byType.set(type, s);
  };
  for (const g of graphs) {
    for (const t of g.initializer) add(t, elementCount(t.dims));
    for (const s of g.sparseInitializer) if (s.values) add(s.values, elementCount(s.values.dims));
  }
  const list = [...byType.values()].sort((a, b) => b.bytes - a.bytes);
  return { count: list.reduce((a, s) => a + s.elements, 0), bytes: list.reduce((a, s) => a + s.bytes, 0), byType: list };
}

/**
 * Inspects a model: I/O, opsets, op histogram, parameters, MACs per op type and what the quantizer does
 * with each op. MACs need shapes: the model's value_info when it has them all, else one onnxruntime
 * run on zeros (dynamic dims = 1); a model that does not run still gets a report, with the reason in
 * `macs.note`. Throws UnsupportedModelError for a model with no graph.
 */
export async function inspectModel(model: Model, opts: InspectOptions = {}): Promise<InspectReport> {
  const g = model.graph;
  if (model.absent?.includes('graph')) throw new UnsupportedModelError('the model has no graph');
  const nodes = allNodes(g);
  const histogram = new Map<string, OpSummary>();
  for (const { node } of nodes) {
    const key = `${node.domain}\u0000${node.opType}`;
    const s = histogram.get(key) ?? { opType: node.opType, domain: node.domain, count: 0, macs: null, quantizer: quantHandling(node.opType, node.domain) ?? 'float' };
    s.count++;
    histogram.set(key, s);
  }

  const counted = g.node.filter((n) => (n.domain === '' || n.domain === 'ai.onnx') && MAC_OPS.has(n.opType));
  const shapes = staticShapes(g);
  const needed = [...new Set(counted.flatMap(macInputs))].filter((n) => n !== '' && !shapes.has(n));
  const macs: InspectReport['macs'] = { total: null, shapesFrom: 'model', dynamicDims: [], unknownNodes: 0 };
  if (needed.length > 0) {
    const produced = new Set(g.node.flatMap((n) => n.output));
    if (opts.probe === false) {
      macs.shapesFrom = 'unavailable';
      macs.note = 'shapes not in the model and probing is off';
    } else {
      ortThreadOptions(); // a bad AKB_ORT_THREADS is the user's error, not a probe failure to note
      try {
        const probe = await probeShapes(model, needed.filter((n) => produced.has(n)));
        for (const [k, v] of probe.shapes) shapes.set(k, v);
        for (const v of realInputs(g)) {
          const fed = v.type?.tensorType?.shape?.dim.map((d) => (d.dimValue !== undefined && d.dimValue >= 0 ? d.dimValue : 1));
          if (fed && !shapes.has(v.name)) shapes.set(v.name, fed);
        }
        macs.shapesFrom = 'probe';
        macs.dynamicDims = probe.dynamicDims;
      } catch (e) {
        macs.shapesFrom = 'unavailable';
        macs.note = `probe run failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
      }
    }
  }
  if (counted.length > 0) {
    let total = 0;
    let known = 0;
    for (const n of counted) {
      const m = nodeMacs(n, (name) => shapes.get(name));
      if (m === undefined) {
        macs.unknownNodes++;
        continue;
      }
      known++;
      total += m;
      const s = histogram.get(`${n.domain}\u0000${n.opType}`)!;
      s.macs = (s.macs ?? 0) + m;
    }
    macs.total = known > 0 ? total : null;
  } else {
    macs.total = 0;
  }

  const ops = [...histogram.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType));
  const constants = { count: 0, bytes: 0 };
  for (const { node } of nodes) {
    if (node.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const t = node.attribute.find((a) => a.name === 'value')?.t;
    if (!t) continue;
    const n = elementCount(t.dims);
    constants.count += n;
    constants.bytes += storedBytes(t, n);
  }
  const types = (handled: boolean): string[] => ops.filter((o) => (o.quantizer !== 'float') === handled).map((o) => (o.domain === '' ? o.opType : `${o.domain}.${o.opType}`));
  return {
    irVersion: model.irVersion,
    producer: model.producerName ? `${model.producerName}${model.producerVersion ? ` ${model.producerVersion}` : ''}` : null,
    opsets: model.opsetImport.map((o) => ({ domain: domainName(o.domain), version: o.version })),
    inputs: realInputs(g).map(summarize),
    outputs: g.output.map(summarize),
    nodes: nodes.length,
    subgraphNodes: nodes.filter((n) => n.depth > 0).length,
    ops,
    parameters: parameterSummary(allGraphs(g)),
    constants,
    macs,
    quantizer: { quantized: types(true), keptFloat: types(false) },
  };
}
