/**
 * Applies a QDQ plan to the prepared model: computes every scale and zero point, stores weights
 * quantized (or float behind a Q/DQ pair in TensorRT mode) with one DequantizeLinear, biases as
 * int32, and puts a QuantizeLinear -> DequantizeLinear pair after each quantized activation. A
 * graph output keeps its name on the DequantizeLinear output. New nodes go right after the producer
 * of their tensor, so the node list stays topologically sorted.
 */
import { computeQParams, type QParams, type QuantType } from '../numerics/qparams.js';
import { makeNode, topoSort, uniqueNamer } from '../onnx/graph.js';
import { makeTensor, tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Graph, type Model, type Node, type TensorProto } from '../onnx/types.js';
import type { ResolvedQdqOptions } from './options.js';
import { readsQuantized } from './placement.js';
import { rangeSource, type QdqPlan, type Range } from './plan.js';
import { minWeightScales, quantizeBias, quantizeWeight, raiseScales, type QuantizedWeight } from './weights.js';

/** Scale and zero-point initializer names of a quantized tensor, with their values. */
interface ParamRef {
  scale: string;
  zeroPoint: string;
  params: QParams;
  type: QuantType;
}

/** Every tensor name read by nodes of subgraphs (these must keep existing). */
function subgraphReads(graph: Graph, out = new Set<string>()): Set<string> {
  for (const node of graph.node) {
    for (const a of node.attribute) {
      for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) {
        for (const n of g.node) for (const i of n.input) if (i) out.add(i);
        subgraphReads(g, out);
      }
    }
  }
  return out;
}

class Rewriter {
  private readonly name: (base: string) => string;
  private readonly prefix: Node[] = [];
  private readonly after = new Map<Node, Node[]>();
  private readonly producer = new Map<string, Node>();
  private readonly consumers = new Map<string, Node[]>();
  private readonly initByName: Map<string, TensorProto>;
  private readonly actParams = new Map<string, ParamRef>();
  private readonly initParams = new Map<string, ParamRef>();
  private readonly newInits: TensorProto[] = [];
  private readonly outputs: Set<string>;
  /** Final weight scales (after the bias adjustment), for the int32 biases. */
  private readonly weightScales = new Map<string, number[]>();

  constructor(
    private readonly graph: Graph,
    private readonly plan: QdqPlan,
    private readonly ranges: ReadonlyMap<string, Range>,
    private readonly opts: ResolvedQdqOptions,
  ) {
    this.name = uniqueNamer(graph);
    this.initByName = new Map(graph.initializer.map((t) => [t.name, t]));
    this.outputs = new Set(graph.output.map((o) => o.name));
  }

  run(): void {
    this.applyRemovals();
    const order = topoSort(this.graph);
    for (const node of order) {
      for (const o of node.output) if (o) this.producer.set(o, node);
      for (const i of node.input) if (i) this.consumers.set(i, [...(this.consumers.get(i) ?? []), node]);
    }
    const weights = this.quantizeInits();
    const isWeight = (t: string): boolean => this.plan.inits.get(t)?.role === 'weight';
    for (const [t, w] of weights) if (!isWeight(t)) this.emitInit(t, w);
    this.adjustForBiases(weights);
    for (const [t, w] of weights) {
      if (!isWeight(t)) continue;
      this.emitInit(t, w);
      this.weightScales.set(t, w.params.map((p) => p.scale));
    }
    for (const t of this.plan.acts.keys()) this.emitActivation(t);
    if (!this.opts.tensorRt) for (const b of this.plan.biases) this.emitBias(b);
    // Initializers nothing reads any more (replaced weights and biases, the bounds of fused Clips) go,
    // as onnxruntime's clean_initializers does; graph inputs with a default value stay.
    const keep = subgraphReads(this.graph);
    for (const v of [...this.graph.output, ...this.graph.input]) keep.add(v.name);
    for (const n of [...this.prefix, ...order, ...[...this.after.values()].flat()]) for (const i of n.input) keep.add(i);
    this.graph.initializer = [...this.graph.initializer, ...this.newInits].filter((t) => keep.has(t.name));
    this.graph.node = [...this.prefix, ...order.flatMap((n) => [n, ...(this.after.get(n) ?? [])])];
  }

  /** Relu/Clip fused into their producers: the producer writes the activation's output. */
  private applyRemovals(): void {
    const removed = new Set<Node>();
    for (const r of this.plan.removals) {
      const producer = this.graph.node.find((n) => !removed.has(n) && n.output.includes(r.from));
      if (!producer) continue;
      producer.output = producer.output.map((o) => (o === r.from ? r.to : o));
      removed.add(r.node);
      this.graph.valueInfo = this.graph.valueInfo.filter((v) => v.name !== r.from);
    }
    this.graph.node = this.graph.node.filter((n) => !removed.has(n));
  }

  private quantizeInits(): Map<string, QuantizedWeight> {
    const out = new Map<string, QuantizedWeight>();
    for (const [t, mark] of this.plan.inits) {
      const tensor = this.initByName.get(t);
      if (!tensor) continue;
      const weight = mark.role === 'weight';
      const type = weight ? this.opts.weightType : this.opts.activationType;
      const symmetric = weight ? mark.axis !== undefined || type === 'int8' : this.opts.symmetricActivations;
      const spec = { type, symmetric, reduceRange: weight && this.opts.reduceRange };
      out.set(t, quantizeWeight(tensor, mark.axis === undefined ? spec : { ...spec, axis: mark.axis }));
    }
    return out;
  }

  private ownParams(t: string): QParams {
    const source = rangeSource(this.plan, t);
    const range = this.plan.fixedRanges.get(t) ?? this.ranges.get(source);
    if (!range) throw new Error(`no calibrated range for tensor '${source}': calibrate the tensors that tensorsToCalibrate() lists`);
    try {
      return computeQParams(range.min, range.max, this.opts.activationType, { symmetric: this.opts.symmetricActivations });
    } catch (e) {
      throw new RangeError(`tensor '${source}': ${(e as Error).message}`);
    }
  }

  /** Raises weight scales so that every int32 bias stays in range. */
  private adjustForBiases(weights: Map<string, QuantizedWeight>): void {
    if (this.opts.tensorRt) return;
    for (const b of this.plan.biases) {
      const w = weights.get(b.weight);
      const bias = this.initByName.get(b.bias);
      if (!w || !bias) continue;
      const inScale = this.refsOf(b.input).params.scale;
      raiseScales(w, minWeightScales(tensorToFloat32(bias), b.beta, b.alpha, inScale, w.params.length));
    }
  }

  private paramTensors(base: string, params: readonly QParams[], type: QuantType, perChannel: boolean): { scale: string; zeroPoint: string } {
    const dims = perChannel ? [params.length] : [];
    const scale = makeTensor(this.name(`${base}_scale`), DataType.FLOAT, dims, Float32Array.from(params, (p) => p.scale));
    const zps = params.map((p) => p.zeroPoint);
    const zeroPoint =
      type === 'int8'
        ? makeTensor(this.name(`${base}_zero_point`), DataType.INT8, dims, Int8Array.from(zps))
        : makeTensor(this.name(`${base}_zero_point`), DataType.UINT8, dims, Uint8Array.from(zps));
    this.newInits.push(scale, zeroPoint);
    return { scale: scale.name, zeroPoint: zeroPoint.name };
  }

  private renameInput(nodes: readonly Node[], from: string, to: string): void {
    for (const n of nodes) n.input = n.input.map((i) => (i === from ? to : i));
  }

  /** A quantized initializer with its DequantizeLinear (TensorRT: the float one behind Q and DQ). */
  private emitInit(t: string, w: QuantizedWeight): void {
    const perChannel = w.axis !== undefined;
    const refs = this.paramTensors(t, w.params, w.type, perChannel);
    if (!perChannel) this.initParams.set(t, { ...refs, params: w.params[0]!, type: w.type });
    const attrs = perChannel ? { axis: w.axis! } : undefined;
    const dqOut = this.name(`${t}_DequantizeLinear_Output`);
    let dqIn: string;
    if (this.opts.tensorRt) {
      dqIn = this.name(`${t}_QuantizeLinear_Output`);
      this.prefix.push(makeNode('QuantizeLinear', [t, refs.scale, refs.zeroPoint], [dqIn], this.name(`${t}_QuantizeLinear`), attrs));
    } else {
      const q = makeTensor(this.name(`${t}_quantized`), w.type === 'int8' ? DataType.INT8 : DataType.UINT8, w.dims, w.data);
      this.newInits.push(q);
      dqIn = q.name;
    }
    this.prefix.push(makeNode('DequantizeLinear', [dqIn, refs.scale, refs.zeroPoint], [dqOut], this.name(`${t}_DequantizeLinear`), attrs));
    this.renameInput(this.consumers.get(t) ?? [], t, dqOut);
  }

  /** The scale/zero-point tensors an activation uses (created once per parameter source). */
  private refsOf(t: string, seen = new Set<string>()): ParamRef {
    const init = this.initParams.get(t);
    if (init) return init;
    const mark = this.plan.acts.get(t);
    if (mark?.share !== undefined && !seen.has(t) && (this.plan.acts.has(mark.share) || this.initParams.has(mark.share))) {
      seen.add(t);
      return this.refsOf(mark.share, seen);
    }
    let ref = this.actParams.get(t);
    if (!ref) {
      const params = this.ownParams(t);
      ref = { ...this.paramTensors(t, [params], this.opts.activationType, false), params, type: this.opts.activationType };
      this.actParams.set(t, ref);
    }
    return ref;
  }

  private place(t: string, nodes: Node[]): void {
    const p = this.producer.get(t);
    if (p) this.after.set(p, [...(this.after.get(p) ?? []), ...nodes]);
    else this.prefix.push(...nodes);
  }

  private pair(input: string, base: string, ref: ParamRef, dqOut: string): Node[] {
    const qOut = this.name(`${base}_QuantizeLinear_Output`);
    return [
      makeNode('QuantizeLinear', [input, ref.scale, ref.zeroPoint], [qOut], this.name(`${base}_QuantizeLinear`)),
      makeNode('DequantizeLinear', [qOut, ref.scale, ref.zeroPoint], [dqOut], this.name(`${base}_DequantizeLinear`)),
    ];
  }

  /** Q/DQ after an activation: shared by all consumers, or (TensorRT) one pair per quantized consumer. */
  private emitActivation(t: string): void {
    const ref = this.refsOf(t);
    const consumers = this.consumers.get(t) ?? [];
    const unique = [...new Set(consumers)];
    if (this.opts.tensorRt && unique.length > 1) {
      unique.forEach((c, i) => {
        if (!this.plan.quantized.has(c)) return;
        const dq = this.name(`${t}_DequantizeLinear_Output_${i + 1}`);
        this.place(t, this.pair(t, `${t}_${i + 1}`, ref, dq));
        this.renameInput([c], t, dq);
      });
      return;
    }
    const producer = this.producer.get(t);
    // A graph output keeps its name on the DequantizeLinear; under weighted-inputs it stays float for its readers.
    if (this.outputs.has(t) && producer && this.opts.placement === 'onnxruntime') {
      const qIn = this.name(`${t}_QuantizeInput`);
      producer.output = producer.output.map((o) => (o === t ? qIn : o));
      this.producer.set(qIn, producer);
      this.place(qIn, this.pair(qIn, t, ref, t));
      return;
    }
    const dq = this.name(`${t}_DequantizeLinear_Output`);
    this.place(t, this.pair(t, t, ref, dq));
    this.renameInput(unique.filter((c) => readsQuantized(this.opts.placement, c, this.plan)), t, dq);
  }

  /** int32 bias with its DequantizeLinear; Gemm's beta is folded into the values and set to 1. */
  private emitBias(b: QdqPlan['biases'][number]): void {
    const bias = this.initByName.get(b.bias);
    const weightRef = this.plan.inits.get(b.weight);
    if (!bias || !weightRef) return;
    const inScale = this.refsOf(b.input).params.scale;
    const wScales = this.weightScales.get(b.weight);
    if (!wScales) return;
    const perChannel = b.axis !== undefined;
    const { data, scales } = quantizeBias(tensorToFloat32(bias), b.beta, b.alpha, inScale, wScales, perChannel);
    const q = makeTensor(this.name(`${b.bias}_quantized`), DataType.INT32, [...bias.dims], data);
    const dims = perChannel ? [scales.length] : [];
    const scale = makeTensor(this.name(`${b.bias}_quantized_scale`), DataType.FLOAT, dims, scales);
    const zp = makeTensor(this.name(`${b.bias}_quantized_zero_point`), DataType.INT32, dims, new Int32Array(scales.length));
    this.newInits.push(q, scale, zp);
    const out = this.name(`${b.bias}_DequantizeLinear_Output`);
    this.prefix.push(makeNode('DequantizeLinear', [q.name, scale.name, zp.name], [out], this.name(`${b.bias}_DequantizeLinear`), perChannel ? { axis: b.axis! } : undefined));
    this.renameInput([b.node], b.bias, out);
    if (b.node.opType === 'Gemm') b.node.attribute = b.node.attribute.filter((a) => a.name !== 'beta');
  }
}

/** Rewrites `model` (a prepared copy, mutated) according to `plan` with the calibrated `ranges`. */
export function applyPlan(model: Model, plan: QdqPlan, ranges: ReadonlyMap<string, Range>, opts: ResolvedQdqOptions): void {
  new Rewriter(model.graph, plan, ranges, opts).run();
}
