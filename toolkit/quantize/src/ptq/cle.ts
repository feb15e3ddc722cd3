/**
 * Cross-layer equalization and bias absorption (Nagel, van Baalen, Blankevoort, Welling 2019,
 * "Data-Free Quantization Through Weight Equalization and Bias Correction", sections 4.1 and 4.2).
 *
 * Equalization: for each pair of layers (cle-pairs.ts), output channel i of the first layer (weights
 * and bias) is divided by s_i and input channel i of the second multiplied by s_i, with
 * s_i = sqrt(r1_i / r2_i), r = the channel's max |w|: both channels then have the range sqrt(r1_i r2_i),
 * which the paper shows maximizes the total per-channel precision of the pair. Channels where either
 * range is 0 keep s_i = 1. A layer in two pairs (conv → relu → depthwise → relu → conv) is moved by
 * both, so all pairs are equalized in turn until every scale is within `tolerance` of 1 (at most
 * `maxIterations` sweeps). The float function is unchanged (up to float32 rounding of the weights).
 *
 * Bias absorption (`absorb`): where the activation is Relu, LeakyRelu or PRelu and the caller measured
 * that pre-activation channel i never fell below c_i > 0 on the calibration data, c_i moves from the
 * first layer's bias into the second's: b1_i -= c_i, b2_o += sum_k W2[o, i, k] * c_i. This is exact
 * wherever the pre-activation stays >= c_i (then f(y - c) + c = y = f(y)), so it is exact on the data
 * it was measured on; it is the approximation on other data, where a value y < c_i now gives
 * f(y - c_i) + c_i instead of f(y). It is applied only where the second layer is a Conv without padding
 * (each output sums every kernel tap over real inputs, so a constant input channel adds the same
 * amount everywhere); a padded Conv or any ConvTranspose (whose border outputs see fewer taps) is left
 * alone. It narrows the quantized pre-activation range from [0, max] to [0, max - c] (the ranges
 * always contain 0).
 *
 * The input model is never changed: the result shares every untouched object with it.
 */
import { AkbError } from '@akb/protocol';
import { attrInts, attrString, uniqueNamer } from '../onnx/graph.js';
import { makeTensor, tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Model, type Node, type TensorProto } from '../onnx/types.js';
import { channelRanges, findLayerPairs, forChannel, scaleChannels, type LayerPair, type WeightedLayer } from './cle-pairs.js';

/** Options of `equalizeCrossLayer`. */
export interface CleOptions {
  /** Sweeps over all pairs at most (default 100). */
  maxIterations?: number;
  /** Stop when every scale of a sweep is within this relative distance of 1 (default 1e-6). */
  tolerance?: number;
  /**
   * Bias absorption: per-channel minimum of each pre-activation tensor (the first layer's output, by
   * name) measured on the calibration data with the input model. Channels whose minimum is > 0 are
   * absorbed (see the file comment); the minima are rescaled by the equalization internally.
   */
  absorb?: ReadonlyMap<string, ArrayLike<number>>;
}

/** How unequal channel ranges are: max over min of the non-zero channel ranges (1 = all equal). */
export interface RangeSpread {
  before: number;
  after: number;
}

/** One equalized pair. */
export interface ClePairSummary {
  first: string;
  second: string;
  activation: string | undefined;
  channels: number;
  /** Spread of the first layer's output-channel ranges. */
  firstSpread: RangeSpread;
  /** Spread of the second layer's input-channel ranges. */
  secondSpread: RangeSpread;
  /** max over channels of max(r1_i / r2_i, r2_i / r1_i): 1 once equalized. */
  pairRatio: RangeSpread;
  /** Channels whose constant moved into the second layer's bias (bias absorption). */
  absorbedChannels: number;
}

/** What `equalizeCrossLayer` did. */
export interface CleSummary {
  pairs: ClePairSummary[];
  iterations: number;
  converged: boolean;
}

/** Working float64 copies of one layer's weight and bias. */
interface LayerState {
  layer: WeightedLayer;
  w: Float64Array;
  b: Float64Array | undefined;
  /** Product of the factors applied to each output channel (the bias and output scale by it). */
  outScale: Float64Array;
}

function spread(r: Float64Array): number {
  let lo = Infinity;
  let hi = 0;
  for (const v of r) {
    if (v === 0) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi === 0 ? 1 : hi / lo;
}

function pairRatio(r1: Float64Array, r2: Float64Array): number {
  let worst = 1;
  for (let i = 0; i < r1.length; i++) {
    const a = r1[i]!;
    const b = r2[i]!;
    if (a === 0 || b === 0) continue;
    worst = Math.max(worst, a / b, b / a);
  }
  return worst;
}

/** One equalization step of a pair; returns the largest |s_i - 1|. */
function equalizePair(a: LayerState, b: LayerState): number {
  const r1 = channelRanges(a.layer, a.w, 'out');
  const r2 = channelRanges(b.layer, b.w, 'in');
  const down = new Float64Array(r1.length);
  const up = new Float64Array(r1.length);
  let worst = 0;
  for (let i = 0; i < r1.length; i++) {
    const s = r1[i]! > 0 && r2[i]! > 0 ? Math.sqrt(r1[i]! / r2[i]!) : 1;
    down[i] = 1 / s;
    up[i] = s;
    worst = Math.max(worst, Math.abs(s - 1));
  }
  scaleChannels(a.layer, a.w, 'out', down);
  if (a.b) for (let i = 0; i < down.length; i++) a.b[i] = a.b[i]! * down[i]!;
  for (let i = 0; i < down.length; i++) a.outScale[i] = a.outScale[i]! * down[i]!;
  scaleChannels(b.layer, b.w, 'in', up);
  return worst;
}

/** True when a Conv has no padding, so a constant input channel shifts every output by the same sum. */
function unpadded(node: Node): boolean {
  if (node.opType !== 'Conv') return false;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return false;
  return (attrInts(node, 'pads') ?? []).every((p) => p === 0);
}

/** Whether bias absorption applies to the pair: a Relu, LeakyRelu or PRelu into an unpadded Conv. */
function absorbable(pair: LayerPair): boolean {
  const act = pair.activation?.opType;
  return (act === 'Relu' || act === 'LeakyRelu' || act === 'PRelu') && unpadded(pair.second.node);
}

/**
 * The pre-activation tensors whose per-channel minima bias absorption can use (measure them on the
 * input model, e.g. with `channelMinima`, and pass them as `absorb`).
 */
export function biasAbsorptionTensors(model: Model): string[] {
  return findLayerPairs(model)
    .filter(absorbable)
    .map((p) => p.preActivation);
}

/** Moves c_i > 0 from the first layer's bias into the second's; returns the channels moved. */
function absorbPair(pair: LayerPair, a: LayerState, b: LayerState, minima: ArrayLike<number>): number {
  if (!absorbable(pair)) return 0;
  if (minima.length !== a.layer.outChannels) {
    throw new AkbError(
      'BAD_ARGUMENT',
      `bias absorption: '${pair.preActivation}' has ${a.layer.outChannels} channels but ${minima.length} minima were given`,
      { hint: 'give one minimum per channel (axis 1) of the pre-activation tensor' },
    );
  }
  let moved = 0;
  for (let i = 0; i < minima.length; i++) {
    const c = minima[i]! * a.outScale[i]!; // the minimum as the equalized layer computes it
    if (!(c > 0) || !Number.isFinite(c)) continue;
    a.b ??= new Float64Array(a.layer.outChannels);
    b.b ??= new Float64Array(b.layer.outChannels);
    a.b[i] = a.b[i]! - c;
    // Conv weight [Cout, Cin/g, k]: input channel i feeds every output channel of its group, k taps each.
    const bias = b.b;
    const perGroupOut = b.layer.outChannels / b.layer.group;
    const g = Math.floor(i / b.layer.dims[1]!);
    let o = g * perGroupOut;
    forChannel(b.layer, 'in', i, (start, length) => {
      let sum = 0;
      for (let k = start; k < start + length; k++) sum += b.w[k]!;
      bias[o] = bias[o]! + sum * c;
      o++;
    });
    moved++;
  }
  return moved;
}

function stateOf(model: Model, layer: WeightedLayer, states: Map<Node, LayerState>): LayerState {
  let s = states.get(layer.node);
  if (s) return s;
  const init = (name: string): TensorProto => model.graph.initializer.find((t) => t.name === name)!;
  const w = Float64Array.from(tensorToFloat32(init(layer.weight)));
  const b = layer.bias === undefined ? undefined : Float64Array.from(tensorToFloat32(init(layer.bias)));
  s = { layer, w, b, outScale: new Float64Array(layer.outChannels).fill(1) };
  states.set(layer.node, s);
  return s;
}

/** The model with the states' weights and biases written back (new tensors and nodes, nothing mutated). */
function rebuild(model: Model, states: Map<Node, LayerState>): Model {
  const g = model.graph;
  const replaced = new Map<string, TensorProto>();
  const added: TensorProto[] = [];
  const nodes = new Map<Node, Node>();
  const fresh = uniqueNamer(g);
  for (const s of states.values()) {
    const { layer } = s;
    replaced.set(layer.weight, makeTensor(layer.weight, DataType.FLOAT, [...layer.dims], Float32Array.from(s.w)));
    if (s.b === undefined) continue;
    if (layer.bias !== undefined) {
      replaced.set(layer.bias, makeTensor(layer.bias, DataType.FLOAT, [...g.initializer.find((t) => t.name === layer.bias)!.dims], Float32Array.from(s.b)));
    } else {
      const name = fresh(`${layer.node.name || layer.node.opType}.bias_absorbed`);
      added.push(makeTensor(name, DataType.FLOAT, [layer.outChannels], Float32Array.from(s.b)));
      nodes.set(layer.node, { ...layer.node, input: [layer.node.input[0]!, layer.node.input[1]!, name] });
    }
  }
  return {
    ...model,
    graph: {
      ...g,
      node: g.node.map((n) => nodes.get(n) ?? n),
      initializer: [...g.initializer.map((t) => replaced.get(t.name) ?? t), ...added],
    },
  };
}

/**
 * Cross-layer equalization of every Conv/ConvTranspose pair of the main graph (see the file comment),
 * with bias absorption where `opts.absorb` gives pre-activation minima. Returns a new model and what
 * was done; a model without pairs comes back as a copy equal to the input.
 */
export function equalizeCrossLayer(model: Model, opts: CleOptions = {}): { model: Model; summary: CleSummary } {
  const maxIterations = opts.maxIterations ?? 100;
  const tolerance = opts.tolerance ?? 1e-6;
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new AkbError('BAD_ARGUMENT', `CLE maxIterations must be a positive integer, got ${maxIterations}`, { hint: 'the default is 100' });
  }
  const pairs = findLayerPairs(model);
  const states = new Map<Node, LayerState>();
  const before = pairs.map((p) => {
    const a = stateOf(model, p.first, states);
    const b = stateOf(model, p.second, states);
    const r1 = channelRanges(p.first, a.w, 'out');
    const r2 = channelRanges(p.second, b.w, 'in');
    return { first: spread(r1), second: spread(r2), ratio: pairRatio(r1, r2) };
  });

  let iterations = 0;
  let converged = pairs.length === 0;
  while (!converged && iterations < maxIterations) {
    iterations++;
    let worst = 0;
    for (const p of pairs) worst = Math.max(worst, equalizePair(states.get(p.first.node)!, states.get(p.second.node)!));
    converged = worst <= tolerance;
  }

  const absorbed = pairs.map((p) => {
    const minima = opts.absorb?.get(p.preActivation);
    return minima === undefined ? 0 : absorbPair(p, states.get(p.first.node)!, states.get(p.second.node)!, minima);
  });

  const summary: CleSummary = {
    iterations,
    converged,
    pairs: pairs.map((p, k) => {
      const r1 = channelRanges(p.first, states.get(p.first.node)!.w, 'out');
      const r2 = channelRanges(p.second, states.get(p.second.node)!.w, 'in');
      return {
        first: p.first.node.name,
        second: p.second.node.name,
        activation: p.activation?.opType,
        channels: p.first.outChannels,
        firstSpread: { before: before[k]!.first, after: spread(r1) },
        secondSpread: { before: before[k]!.second, after: spread(r2) },
        pairRatio: { before: before[k]!.ratio, after: pairRatio(r1, r2) },
        absorbedChannels: absorbed[k]!,
      };
    }),
  };
  return { model: rebuild(model, states), summary };
}
