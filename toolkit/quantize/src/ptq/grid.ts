/**
 * The quantization grid of a layer's weight exactly as quantizeQdq will use it (qdq/weights.ts's
 * `quantizeWeight` with the target's WeightSpec): per element its scale, zero point and integer,
 * and the dequantized value `float32((q - zp) * scale)` that DequantizeLinear computes. Also the
 * edit the methods share: putting a new initializer under a node's input without touching other
 * readers of the old one.
 *
 * One difference is left: quantizeQdq raises a channel's scale when the int32 bias would overflow
 * with it (weights.ts `raiseScales`, which needs the calibrated input scale); with the biases of
 * real models the bias stays far inside int32 and the scales do not move.
 */
import { qRange } from '../numerics/qparams.js';
import { uniqueNamer } from '../onnx/graph.js';
import { makeTensor, tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Graph, type Node, type TensorProto } from '../onnx/types.js';
import { quantizeWeight, type WeightSpec } from '../qdq/weights.js';

/** A weight with its grid: `values[i]` is the float weight, `q[i]` the integer quantizeQdq gives it. */
export interface WeightGrid {
  values: Float32Array;
  q: Int32Array;
  /** Scale and zero point per quantization channel (one when per tensor). */
  scales: Float64Array;
  zeroPoints: Int32Array;
  /** Element i's channel: `channelOf(i)`. */
  channelOf: (i: number) => number;
  /** The integer range the scales were derived from (qdq's `qRange`). */
  qmin: number;
  qmax: number;
}

/** Quantizes a weight initializer as quantizeQdq does and returns its grid. */
export function weightGrid(t: TensorProto, spec: WeightSpec): WeightGrid {
  const w = quantizeWeight(t, spec);
  let inner = 1;
  let channels = 1;
  if (w.axis !== undefined) {
    channels = w.dims[w.axis]!;
    for (let d = w.axis + 1; d < w.dims.length; d++) inner *= w.dims[d]!;
  }
  const { qmin, qmax } = qRange(spec.type, { symmetric: spec.symmetric, reduceRange: spec.reduceRange });
  return {
    values: w.values,
    q: Int32Array.from(w.data),
    scales: Float64Array.from(w.params, (p) => p.scale),
    zeroPoints: Int32Array.from(w.params, (p) => p.zeroPoint),
    channelOf: channels === 1 ? () => 0 : (i) => Math.floor(i / inner) % channels,
    qmin,
    qmax,
  };
}

/** DequantizeLinear of integer `q` for element i: `float32((q - zp) * scale)`. */
export function dequantized(grid: WeightGrid, i: number, q: number): number {
  const c = grid.channelOf(i);
  return Math.fround((q - grid.zeroPoints[c]!) * grid.scales[c]!);
}

/** The dequantized weight, element by element. */
export function dequantizedWeight(grid: WeightGrid): Float32Array {
  return Float32Array.from(grid.q, (q, i) => dequantized(grid, i, q));
}

/** Whether a tensor name is read anywhere besides `node`'s input `index` (other inputs, nodes, subgraphs, outputs). */
function readElsewhere(graph: Graph, name: string, node: Node, index: number): boolean {
  if (graph.output.some((o) => o.name === name)) return true;
  const visit = (g: Graph): boolean =>
    g.node.some((n) => n.input.some((i, k) => i === name && !(n === node && k === index)) || n.attribute.some((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])].some(visit)));
  return visit(graph);
}

/**
 * Makes `node.input[index]` read a float32 initializer holding `values` (shape `dims`): the old
 * initializer is replaced when nothing else reads it, else a new one is added under a fresh name
 * (`base` when free). Mutates `graph`'s initializer list and `node`: call it on a copy.
 */
export function setInitializer(graph: Graph, node: Node, index: number, values: Float32Array, dims: number[], base: string): string {
  const old = node.input[index];
  const shared = !old || readElsewhere(graph, old, node, index) || graph.input.some((v) => v.name === old);
  const name = shared ? uniqueNamer(graph)(base) : old;
  const tensor = makeTensor(name, DataType.FLOAT, dims, values);
  if (shared) {
    graph.initializer.push(tensor);
    while (node.input.length < index) node.input.push('');
    node.input[index] = name;
  } else graph.initializer = graph.initializer.map((t) => (t.name === name ? tensor : t));
  return name;
}

/** An initializer's values as float32, by name (undefined when there is none or it is not float). */
export function floatInitializer(graph: Graph, name: string | undefined): { tensor: TensorProto; values: Float32Array } | undefined {
  const tensor = name ? graph.initializer.find((t) => t.name === name) : undefined;
  if (!tensor || tensor.dataType !== DataType.FLOAT || graph.input.some((v) => v.name === name)) return undefined;
  return { tensor, values: tensorToFloat32(tensor) };
}
