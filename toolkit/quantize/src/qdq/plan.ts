/**
 * The QDQ plan: which tensors get Q/DQ, with whose parameters, decided op by op as onnxruntime's
 * QDQQuantizer does (see rules.ts), without any calibration data. The plan is made on the prepared
 * copy of the model (prepare.ts) and is the single source of both `tensorsToCalibrate` and the
 * rewrite, so the two always agree.
 *
 * Differences from onnxruntime, where it is wrong or order-dependent:
 * - ops that reuse their input's parameters (Reshape, MaxPool, ...) and Relu/Clip look at the marks
 *   of all other ops first, so whether they are quantized does not depend on node order;
 * - a Clip is fused into its producer only when its bounds contain 0 (Q/DQ clamps to a range that
 *   always contains 0, so a Clip(0.5, 6) cannot be dropped);
 * - MatMul per-channel weights use their last axis (onnxruntime uses 1, wrong for batched weights),
 *   and a constant first input is quantized per tensor;
 * - an initializer needed with two different quantizations (say, a Conv weight also added
 *   elsewhere) is duplicated instead of taking whichever mark came last.
 */
import { GraphIndex, attrFloat, attrInt, getAttr, topoSort, uniqueNamer } from '../onnx/graph.js';
import { elementCount, tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Graph, type Node, type TensorProto } from '../onnx/types.js';
import { inferElemTypes } from './elem-types.js';
import type { ResolvedQdqOptions, SkippedNode } from './options.js';
import { restrictToWeightedInputs } from './placement.js';
import { MIN_OPSET, WEIGHTED_OPS, ruleFor } from './rules.js';

/** A real range (the shape of the calibrator's TensorRange). */
export interface Range {
  min: number;
  max: number;
}

/** An activation to quantize: its own parameters, or those of the tensor `share`. */
export interface ActMark {
  share?: string;
}

/** An initializer to quantize offline: as a weight (weight type, `axis` when per channel) or as an activation. */
export interface InitMark {
  role: 'weight' | 'activation';
  axis?: number;
}

/** A bias to store as int32 with scale `alpha * input_scale * weight_scale`. */
export interface BiasMark {
  node: Node;
  bias: string;
  input: string;
  weight: string;
  /** Gemm's alpha (1 for Conv): part of the bias scale. */
  alpha: number;
  /** Gemm's beta (1 for Conv): folded into the bias values, then set to 1 on the node. */
  beta: number;
  /** Axis of the bias when the weight is per channel; undefined when per tensor. */
  axis?: number;
  /** Bias channels per weight channel (ConvTranspose with group > 1 repeats the weight's scales). */
  repeat: number;
}

/** A Relu/Clip fused into its producer: the producer's output `from` is renamed to `to`. */
export interface Removal {
  node: Node;
  from: string;
  to: string;
}

/** Everything the rewrite needs besides the ranges. */
export interface QdqPlan {
  acts: Map<string, ActMark>;
  inits: Map<string, InitMark>;
  biases: BiasMark[];
  removals: Removal[];
  /** Tensors whose parameters come from another tensor's range (a Relu/Clip input takes the output's). */
  rangeAlias: Map<string, string>;
  /** Tensors with a known range (Softmax outputs: [0, 1]). */
  fixedRanges: Map<string, Range>;
  quantized: Set<Node>;
  skipped: SkippedNode[];
}

const PHASE_TWO = new Set(['share', 'gather', 'where', 'removable']);

class Planner {
  readonly plan: QdqPlan = {
    acts: new Map(),
    inits: new Map(),
    biases: [],
    removals: [],
    rangeAlias: new Map(),
    fixedRanges: new Map(),
    quantized: new Set(),
    skipped: [],
  };
  private readonly order: Node[];
  private readonly types: Map<string, number>;
  private readonly index: GraphIndex;
  private readonly initializers: Map<string, TensorProto>;
  private readonly graphInputs: Set<string>;
  private readonly graphOutputs: Set<string>;
  private readonly name: (base: string) => string;
  private readonly reasons = new Map<Node, string>();

  constructor(
    private readonly graph: Graph,
    private readonly opts: ResolvedQdqOptions,
    private readonly opset: number,
  ) {
    this.order = topoSort(graph);
    this.types = inferElemTypes(graph, this.order);
    this.index = new GraphIndex(graph);
    this.initializers = new Map(graph.initializer.map((t) => [t.name, t]));
    this.graphInputs = new Set(graph.input.map((v) => v.name));
    this.graphOutputs = new Set(graph.output.map((v) => v.name));
    this.name = uniqueNamer(graph);
  }

  run(): QdqPlan {
    const active = this.order.filter((n) => this.selected(n));
    for (const node of active) if (!PHASE_TWO.has(ruleFor(node.opType, node.domain) ?? '')) this.phaseOne(node);
    for (const node of active) if (PHASE_TWO.has(ruleFor(node.opType, node.domain) ?? '')) this.phaseTwo(node);
    for (const node of this.order) {
      if (this.plan.quantized.has(node) || !node.output.some((o) => this.isFloat(o))) continue;
      this.plan.skipped.push({ node: node.name, opType: node.opType, reason: this.reasons.get(node) ?? 'nothing to quantize' });
    }
    return this.plan;
  }

  /** Whether the node's rule runs; records why not. */
  private selected(node: Node): boolean {
    const rule = ruleFor(node.opType, node.domain);
    let why: string | undefined;
    if (this.opts.excludeNodes.has(node.name)) why = 'excluded by name';
    else if (this.opts.excludeOpTypes.has(node.opType)) why = `op type ${node.opType} excluded`;
    else if (!rule) why = node.domain && node.domain !== 'ai.onnx' ? `op of domain '${node.domain}' has no int8 rule; it runs in float` : `no int8 rule for ${node.opType}; it runs in float`;
    else if ((MIN_OPSET[node.opType] ?? 0) > this.opset) why = `${node.opType} has no int8 form before opset ${MIN_OPSET[node.opType]} (the model has ${this.opset})`;
    if (why) this.reasons.set(node, why);
    return why === undefined;
  }

  private isFloat(t: string | undefined): t is string {
    return !!t && this.types.get(t) === DataType.FLOAT;
  }

  private isConst(t: string): boolean {
    return this.initializers.has(t) && !this.graphInputs.has(t);
  }

  private isQuantized(t: string | undefined): boolean {
    return !!t && (this.plan.acts.has(t) || this.plan.inits.has(t));
  }

  private done(node: Node): void {
    this.plan.quantized.add(node);
  }

  /** Marks input `i` of `node` as an activation (a constant input as an activation-typed initializer). */
  private markInput(node: Node, i: number): boolean {
    const t = node.input[i];
    if (!this.isFloat(t)) return false;
    if (this.isConst(t)) return this.markInit(node, i, { role: 'activation' }) !== undefined;
    if (!this.plan.acts.has(t)) this.plan.acts.set(t, {});
    return true;
  }

  private markOutput(t: string | undefined): boolean {
    if (!this.isFloat(t) || this.isConst(t)) return false;
    if (!this.plan.acts.has(t)) this.plan.acts.set(t, {});
    return true;
  }

  private markShared(out: string | undefined, input: string): boolean {
    if (!this.isFloat(out) || this.isConst(out)) return false;
    this.plan.acts.set(out, { share: input });
    return true;
  }

  /** Marks a constant input for offline quantization; duplicates it when it already has another mark. */
  private markInit(node: Node, i: number, mark: InitMark): string | undefined {
    const t = node.input[i];
    if (!t) return undefined;
    const prev = this.plan.inits.get(t);
    const used = this.plan.biases.some((b) => b.bias === t);
    if (!used && (!prev || (prev.role === mark.role && prev.axis === mark.axis))) {
      this.plan.inits.set(t, mark);
      return t;
    }
    const copy = this.duplicate(node, i);
    this.plan.inits.set(copy, mark);
    return copy;
  }

  private duplicate(node: Node, i: number): string {
    const t = node.input[i]!;
    const copy: TensorProto = { ...this.initializers.get(t)!, name: this.name(t) };
    this.graph.initializer.push(copy);
    this.initializers.set(copy.name, copy);
    this.types.set(copy.name, copy.dataType);
    node.input[i] = copy.name;
    return copy.name;
  }

  /** Marks the weight input `i`; a weight computed at run time is quantized as an activation. */
  private markWeight(node: Node, i: number, axis: number | undefined): string | undefined {
    const t = node.input[i];
    if (!this.isFloat(t)) return undefined;
    if (!this.isConst(t)) {
      this.markInput(node, i);
      return undefined;
    }
    const dims = this.initializers.get(t)!.dims;
    const valid = axis !== undefined && axis < dims.length && dims.length > 1;
    return this.markInit(node, i, valid ? { role: 'weight', axis } : { role: 'weight' });
  }

  private markBias(node: Node, weight: string, bias: { alpha: number; beta: number; channels: number; repeat: number }): void {
    const b = node.input[2];
    const input = node.input[0];
    if (this.opts.tensorRt || !b || !input || !this.isFloat(b) || !this.isConst(b) || !this.isQuantized(input)) return;
    const axis = this.plan.inits.get(weight)?.axis;
    let biasAxis: number | undefined;
    if (axis !== undefined) {
      const dims = this.initializers.get(b)!.dims;
      const vector = dims.length === 1 || (dims.length === 2 && dims[0] === 1);
      if (!vector || elementCount(dims) !== bias.channels * bias.repeat) return; // broadcast bias: stays float
      biasAxis = dims.length - 1;
    }
    const name = this.plan.biases.some((m) => m.bias === b) || this.plan.inits.has(b) ? this.duplicate(node, 2) : b;
    this.plan.biases.push({ node, bias: name, input, weight, alpha: bias.alpha, beta: bias.beta, axis: biasAxis, repeat: bias.repeat });
  }

  private phaseOne(node: Node): void {
    const rule = ruleFor(node.opType, node.domain)!;
    const marked: boolean[] = [];
    const trtWeighted = this.opts.tensorRt && WEIGHTED_OPS.has(node.opType);
    switch (rule) {
      case 'conv':
      case 'gemm': {
        marked.push(this.markInput(node, 0));
        if (!trtWeighted) marked.push(this.markOutput(node.output[0]));
        const convT = node.opType === 'ConvTranspose';
        const transB = attrInt(node, 'transB', 0) === 1;
        const axis = rule === 'conv' ? (convT ? 1 : 0) : transB ? 0 : 1;
        const w = this.markWeight(node, 1, this.opts.perChannel ? axis : undefined);
        if (w) {
          marked.push(true);
          const dims = this.initializers.get(w)!.dims;
          const group = convT ? attrInt(node, 'group', 1) : 1;
          const alpha = rule === 'gemm' ? attrFloat(node, 'alpha', 1) : 1;
          const beta = rule === 'gemm' ? attrFloat(node, 'beta', 1) : 1;
          this.markBias(node, w, { alpha, beta, channels: dims[axis] ?? 1, repeat: group });
        }
        break;
      }
      case 'matmul':
        for (const i of [0, 1]) {
          const t = node.input[i];
          if (t && this.isFloat(t) && this.isConst(t)) {
            const rank = this.initializers.get(t)!.dims.length;
            marked.push(this.markWeight(node, i, this.opts.perChannel && i === 1 && rank >= 2 ? rank - 1 : undefined) !== undefined);
          } else marked.push(this.markInput(node, i));
        }
        if (!trtWeighted) marked.push(this.markOutput(node.output[0]));
        break;
      case 'norm':
        marked.push(this.markInput(node, 0), this.markOutput(node.output[0]));
        break;
      case 'split':
        if (this.markInput(node, 0)) {
          marked.push(true);
          for (const o of node.output) marked.push(this.markShared(o, node.input[0]!));
        }
        break;
      case 'pad': {
        node.input.forEach((_, i) => marked.push(this.markInput(node, i)));
        const input = node.input[0];
        if (this.isQuantized(input)) marked.push(this.padKeepsRange(node) ? this.markShared(node.output[0], input!) : this.markOutput(node.output[0]));
        break;
      }
      default: // generic
        node.input.forEach((_, i) => marked.push(this.markInput(node, i)));
        for (const o of node.output) marked.push(this.markOutput(o));
        if (node.opType === 'Softmax' && this.isFloat(node.output[0])) this.plan.fixedRanges.set(node.output[0], { min: 0, max: 1 });
    }
    if (marked.some((m) => m)) this.done(node);
  }

  private phaseTwo(node: Node): void {
    const rule = ruleFor(node.opType, node.domain)!;
    const input = node.input[0];
    const out = node.output[0];
    if (rule === 'gather' && input && this.isFloat(input) && this.isConst(input)) this.markInput(node, 0);
    if (rule === 'where') {
      if (this.isQuantized(node.input[1]) && this.isQuantized(node.input[2]) && this.markOutput(out)) this.done(node);
      else this.reasons.set(node, 'its value inputs are not both quantized');
      return;
    }
    if (!this.isQuantized(input)) {
      this.reasons.set(node, `its input '${input ?? ''}' is not quantized`);
      return;
    }
    if (rule !== 'removable') {
      if (this.markShared(out, input!)) this.done(node);
      return;
    }
    this.removable(node, input!, out);
  }

  /** Relu/Clip after a quantized tensor: fused into the producer when possible, else quantized around. */
  private removable(node: Node, input: string, out: string | undefined): void {
    if (!this.isFloat(out)) return;
    const single = this.index.consumersOf(input).length === 1;
    const fusable =
      !this.opts.symmetricActivations &&
      single &&
      this.plan.acts.has(input) &&
      !this.graphInputs.has(input) &&
      !this.graphOutputs.has(input) &&
      this.index.producerOf(input) !== undefined &&
      this.clipContainsZero(node);
    if (fusable) {
      this.plan.removals.push({ node, from: input, to: out });
      this.plan.acts.delete(input);
    } else {
      this.markInput(node, 0);
      if (single) this.plan.rangeAlias.set(input, out);
    }
    this.markOutput(out);
    this.done(node);
  }

  /** A constant scalar float input, or undefined when absent or computed. */
  private constScalar(t: string | undefined): number | undefined {
    const tensor = t ? this.initializers.get(t) : undefined;
    if (!tensor || !t || !this.isConst(t) || elementCount(tensor.dims) !== 1) return undefined;
    return tensorToFloat32(tensor)[0];
  }

  private clipContainsZero(node: Node): boolean {
    if (node.opType === 'Relu') return true;
    let lo = -Infinity;
    let hi = Infinity;
    if (this.opset < 11) {
      lo = attrFloat(node, 'min', -Infinity);
      hi = attrFloat(node, 'max', Infinity);
    } else {
      if (node.input[1]) lo = this.constScalar(node.input[1]) ?? NaN;
      if (node.input[2]) hi = this.constScalar(node.input[2]) ?? NaN;
    }
    return lo <= 0 && hi >= 0;
  }

  /** Whether Pad's output values all lie in its input's range (so it can share the parameters). */
  private padKeepsRange(node: Node): boolean {
    const s = getAttr(node, 'mode')?.s;
    const mode = s ? new TextDecoder().decode(s) : 'constant';
    if (mode !== 'constant') return true;
    if (this.opset < 11) return attrFloat(node, 'value', 0) === 0;
    return !node.input[2] || this.constScalar(node.input[2]) === 0;
  }
}

/** Plans the QDQ rewrite of a prepared graph (mutated only to duplicate shared initializers). */
export function buildPlan(graph: Graph, opts: ResolvedQdqOptions, opset: number): QdqPlan {
  const plan = new Planner(graph, opts, opset).run();
  if (opts.placement === 'weighted-inputs') restrictToWeightedInputs(graph, plan);
  return plan;
}

/** The tensor whose calibrated range sets an activation's own parameters. */
export function rangeSource(plan: QdqPlan, tensor: string): string {
  return plan.rangeAlias.get(tensor) ?? tensor;
}

/** The activations whose ranges must be calibrated, in plan order, without duplicates. */
export function calibrationTensors(plan: QdqPlan): string[] {
  const out = new Set<string>();
  for (const [t, mark] of plan.acts) {
    if (mark.share !== undefined || plan.fixedRanges.has(t)) continue;
    out.add(rangeSource(plan, t));
  }
  return [...out];
}
