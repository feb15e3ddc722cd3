/**
 * Tensor shapes for the inspector: from the model's own type information where it is concrete, else
 * from one onnxruntime run on zeros with the wanted tensors as extra outputs (dynamic dims = 1, graph
 * optimisation off so every tensor still exists).
 */
import * as ort from 'onnxruntime-node';
import { UnsupportedModelError } from '../onnx/errors.js';
import { withOutputs } from '../onnx/graph.js';
import { encodeModel } from '../onnx/io.js';
import { dataTypeName, elementCount } from '../onnx/tensor.js';
import type { Graph, Model, ValueInfo } from '../onnx/types.js';
import { ortThreadOptions } from '@akb/jscc';

/** onnxruntime's name for each tensor element type it takes as an input, and a zero-filled array of it. */
const ORT_TYPES: Record<number, { type: ort.Tensor.Type; zeros: (n: number) => ort.Tensor.DataType }> = {
  1: { type: 'float32', zeros: (n) => new Float32Array(n) },
  2: { type: 'uint8', zeros: (n) => new Uint8Array(n) },
  3: { type: 'int8', zeros: (n) => new Int8Array(n) },
  4: { type: 'uint16', zeros: (n) => new Uint16Array(n) },
  5: { type: 'int16', zeros: (n) => new Int16Array(n) },
  6: { type: 'int32', zeros: (n) => new Int32Array(n) },
  7: { type: 'int64', zeros: (n) => new BigInt64Array(n) },
  9: { type: 'bool', zeros: (n) => new Uint8Array(n) },
  10: { type: 'float16', zeros: (n) => new Uint16Array(n) },
  11: { type: 'float64', zeros: (n) => new Float64Array(n) },
  12: { type: 'uint32', zeros: (n) => new Uint32Array(n) },
  13: { type: 'uint64', zeros: (n) => new BigUint64Array(n) },
};

/** The graph inputs that are fed (not initializers). */
export function realInputs(graph: Graph): ValueInfo[] {
  const inits = new Set(graph.initializer.map((t) => t.name));
  return graph.input.filter((v) => !inits.has(v.name));
}

/** A dims list with every dynamic dim (symbolic or unknown) set to 1, and the names of those dims. */
export function concreteDims(v: ValueInfo): { dims: number[]; dynamic: string[] } | undefined {
  const shape = v.type?.tensorType?.shape;
  if (shape === undefined) return undefined;
  const dynamic: string[] = [];
  const dims = shape.dim.map((d) => {
    if (d.dimValue !== undefined && d.dimValue >= 0) return d.dimValue;
    dynamic.push(d.dimParam ?? '?');
    return 1;
  });
  return { dims, dynamic };
}

/**
 * Zero-filled inputs for every graph input, dynamic dims set to 1. Throws UnsupportedModelError when an
 * input has no shape or a type onnxruntime-node cannot feed.
 */
export function zeroFeeds(model: Model): { feeds: Record<string, ort.Tensor>; dynamicDims: string[] } {
  const feeds: Record<string, ort.Tensor> = {};
  const dynamicDims = new Set<string>();
  for (const v of realInputs(model.graph)) {
    const elem = v.type?.tensorType?.elemType ?? 0;
    const kind = ORT_TYPES[elem];
    if (kind === undefined) throw new UnsupportedModelError(`input '${v.name}' has type ${dataTypeName(elem)}, which the probe cannot feed`);
    const c = concreteDims(v);
    if (c === undefined) throw new UnsupportedModelError(`input '${v.name}' has no shape, so the probe cannot make one`);
    for (const d of c.dynamic) dynamicDims.add(d);
    feeds[v.name] = new ort.Tensor(kind.type, kind.zeros(elementCount(c.dims)), c.dims);
  }
  return { feeds, dynamicDims: [...dynamicDims] };
}

/**
 * Runs `model` once on zeros with `names` as extra outputs and returns the shape of each. The model's
 * tensors must be inline (read with external data loaded).
 */
export async function probeShapes(model: Model, names: string[]): Promise<{ shapes: Map<string, number[]>; dynamicDims: string[] }> {
  const { feeds, dynamicDims } = zeroFeeds(model);
  const probe = withOutputs(model, names);
  // Log level 4 (fatal only): a model that fails here is reported in the inspector's note, not as log spam.
  const session = await ort.InferenceSession.create(encodeModel(probe), { graphOptimizationLevel: 'disabled', enableCpuMemArena: false, logSeverityLevel: 4, ...ortThreadOptions() });
  try {
    const out = await session.run(feeds, { logSeverityLevel: 4 });
    const shapes = new Map<string, number[]>();
    for (const [name, value] of Object.entries(out)) shapes.set(name, [...value.dims]);
    for (const value of Object.values(out)) value.dispose();
    return { shapes, dynamicDims };
  } finally {
    await session.release();
  }
}

/** Shapes the model itself states with every dim known: initializers, inputs, outputs, value_info. */
export function staticShapes(graph: Graph): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) {
    const dims = v.type?.tensorType?.shape?.dim;
    if (dims && dims.every((d) => d.dimValue !== undefined && d.dimValue >= 0)) shapes.set(v.name, dims.map((d) => d.dimValue!));
  }
  for (const t of graph.initializer) shapes.set(t.name, t.dims);
  return shapes;
}
