/**
 * The layer pairs cross-layer equalization may rescale (cle.ts), and the channel layout of their weights.
 *
 * A pair is Conv/ConvTranspose → (an optional positively homogeneous activation) → Conv/ConvTranspose:
 * scaling a channel of the first layer's output by 1/s (s > 0) scales the activation's output channel
 * by 1/s too, which the second layer's input channel undoes by s. Positively homogeneous means
 * f(x / s) = f(x) / s for s > 0: Relu, LeakyRelu, PRelu (any slope shape: the op is elementwise and
 * x / s keeps the sign of x) and Identity. Clip, HardSwish, Sigmoid, Tanh, ... are not, and end a chain.
 *
 * The rewrite is exact only when nothing else sees the rescaled tensors, so a pair needs: the
 * intermediate tensors each have exactly one consumer and are no graph output; the weights and biases
 * are float32 initializers read by this node only and are no graph input (a graph input may be fed
 * another value at run time); the first layer's output channels match the second's input channels.
 *
 * Weight layouts (K = product of the kernel dims, g = group):
 * - Conv `[Cout, Cin/g, ...kernel]`: output channel o is the block `[o * (Cin/g) * K, +(Cin/g) * K)`;
 *   input channel i (group i / (Cin/g)) is one block of K in each output channel of its group;
 * - ConvTranspose `[Cin, Cout/g, ...kernel]`: input channel i is the block `[i * (Cout/g) * K, ...)`;
 *   output channel o (group o / (Cout/g)) is one block of K in each input channel of its group.
 */
import { GraphIndex, attrInt } from '../onnx/graph.js';
import { elementCount } from '../onnx/tensor.js';
import { DataType, type Model, type Node } from '../onnx/types.js';

/** Activations f with f(x / s) = f(x) / s for every s > 0. */
export const HOMOGENEOUS_ACTIVATIONS: ReadonlySet<string> = new Set(['Relu', 'PRelu', 'LeakyRelu', 'Identity']);

/** A Conv or ConvTranspose whose weight (and bias, when it has one) CLE may rewrite. */
export interface WeightedLayer {
  node: Node;
  transposed: boolean;
  weight: string;
  bias: string | undefined;
  dims: readonly number[];
  group: number;
  outChannels: number;
  inChannels: number;
}

/** Two layers joined by at most one homogeneous activation. */
export interface LayerPair {
  first: WeightedLayer;
  second: WeightedLayer;
  /** The activation between them, if any. */
  activation: Node | undefined;
  /** The first layer's output: the pre-activation tensor. */
  preActivation: string;
}

/** True when `name` is a float32 initializer that only `node` reads and that is no graph input or output. */
function ownedInitializer(index: GraphIndex, name: string, node: Node): boolean {
  const t = index.initializer(name);
  if (t === undefined || t.dataType !== DataType.FLOAT) return false;
  if (index.isGraphInput(name) || index.isGraphOutput(name)) return false;
  const users = index.consumersOf(name);
  return users.length === 1 && users[0] === node && node.input.filter((i) => i === name).length === 1;
}

/** The node as a rewritable weighted layer, or undefined. */
export function weightedLayer(index: GraphIndex, node: Node): WeightedLayer | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  if (node.opType !== 'Conv' && node.opType !== 'ConvTranspose') return undefined;
  const weight = node.input[1];
  if (weight === undefined || weight === '' || !ownedInitializer(index, weight, node)) return undefined;
  const biasName = node.input[2];
  const bias = biasName === undefined || biasName === '' ? undefined : biasName;
  if (bias !== undefined && !ownedInitializer(index, bias, node)) return undefined;
  const dims = index.initializer(weight)!.dims;
  const group = attrInt(node, 'group', 1);
  if (dims.length < 3 || !Number.isInteger(group) || group < 1) return undefined;
  const transposed = node.opType === 'ConvTranspose';
  const outChannels = transposed ? dims[1]! * group : dims[0]!;
  const inChannels = transposed ? dims[0]! : dims[1]! * group;
  if (dims[0]! % group !== 0) return undefined; // Conv: Cout, ConvTranspose: Cin
  if (bias !== undefined && elementCount(index.initializer(bias)!.dims) !== outChannels) return undefined;
  return { node, transposed, weight, bias, dims, group, outChannels, inChannels };
}

/** The single consumer of `tensor`, when it has exactly one and is no graph output. */
function soleConsumer(index: GraphIndex, tensor: string): Node | undefined {
  if (index.isGraphOutput(tensor)) return undefined;
  const users = index.consumersOf(tensor);
  return users.length === 1 ? users[0] : undefined;
}

/** Every pair of the main graph, in graph order of the first layer. */
export function findLayerPairs(model: Model): LayerPair[] {
  const index = new GraphIndex(model.graph);
  const pairs: LayerPair[] = [];
  for (const node of model.graph.node) {
    const first = weightedLayer(index, node);
    if (first === undefined || node.output.length !== 1) continue;
    const preActivation = node.output[0]!;
    let next = soleConsumer(index, preActivation);
    let activation: Node | undefined;
    if (next !== undefined && next.opType !== 'Conv' && next.opType !== 'ConvTranspose') {
      const homogeneous = (next.domain === '' || next.domain === 'ai.onnx') && HOMOGENEOUS_ACTIVATIONS.has(next.opType);
      if (!homogeneous || next.input[0] !== preActivation || next.output.length !== 1) continue;
      activation = next;
      next = soleConsumer(index, next.output[0]!);
    }
    if (next === undefined) continue;
    const second = weightedLayer(index, next);
    const joined = activation?.output[0] ?? preActivation;
    if (second === undefined || second.node.input[0] !== joined || second.inChannels !== first.outChannels) continue;
    pairs.push({ first, second, activation, preActivation });
  }
  return pairs;
}

/** Product of the kernel dims. */
function kernelSize(layer: WeightedLayer): number {
  return layer.dims.slice(2).reduce((a, b) => a * b, 1);
}

/**
 * Calls `visit(start, length)` for each block of weight values that belongs to channel `c` on `side`
 * ('out': an output channel of the layer; 'in': an input channel).
 */
export function forChannel(layer: WeightedLayer, side: 'out' | 'in', c: number, visit: (start: number, length: number) => void): void {
  const k = kernelSize(layer);
  const [d0, d1] = [layer.dims[0]!, layer.dims[1]!];
  // The axis-0 channel is a contiguous block (Conv: output; ConvTranspose: input).
  const leading = layer.transposed ? side === 'in' : side === 'out';
  if (leading) {
    visit(c * d1 * k, d1 * k);
    return;
  }
  // The axis-1 channel: one block of k in every axis-0 channel of its group.
  const perGroup0 = d0 / layer.group; // axis-0 channels per group
  const g = Math.floor(c / d1);
  const local = c % d1;
  for (let a = g * perGroup0; a < (g + 1) * perGroup0; a++) visit((a * d1 + local) * k, k);
}

/** max |w| of each channel on `side`. */
export function channelRanges(layer: WeightedLayer, w: Float64Array, side: 'out' | 'in'): Float64Array {
  const n = side === 'out' ? layer.outChannels : layer.inChannels;
  const r = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    let m = 0;
    forChannel(layer, side, c, (start, length) => {
      for (let i = start; i < start + length; i++) {
        const a = Math.abs(w[i]!);
        if (a > m) m = a;
      }
    });
    r[c] = m;
  }
  return r;
}

/** Multiplies every weight of channel c on `side` by `factor[c]`. */
export function scaleChannels(layer: WeightedLayer, w: Float64Array, side: 'out' | 'in', factor: Float64Array): void {
  for (let c = 0; c < factor.length; c++) {
    const f = factor[c]!;
    if (f === 1) continue;
    forChannel(layer, side, c, (start, length) => {
      for (let i = start; i < start + length; i++) w[i] = w[i]! * f;
    });
  }
}
