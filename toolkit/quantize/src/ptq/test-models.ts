/**
 * Test helper of the ptq tests: one-node ONNX models built in memory, seeded inputs, and a float
 * run in onnxruntime-node. Kept out of the sources' exports (index.ts does not re-export it).
 */
import * as ort from 'onnxruntime-node';
import { ortThreadOptions } from '@akb/jscc';
import { makeNode, makeValueInfo, type AttrValue } from '../onnx/graph.js';
import { encodeModel } from '../onnx/io.js';
import { makeTensor } from '../onnx/tensor.js';
import { DataType, type Model, type TensorProto } from '../onnx/types.js';

/** A float32 initializer. */
export function floatInit(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  return makeTensor(name, DataType.FLOAT, dims, Float32Array.from(values));
}

/** A model of one node reading graph input `x` (shape `xDims`) and the initializers, writing `y`. */
export function oneNodeModel(op: string, xDims: number[], inits: TensorProto[], attrs: Record<string, AttrValue> = {}, opset = 17): Model {
  const node = makeNode(op, ['x', ...inits.map((t) => t.name)], ['y'], 'layer', attrs);
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'g',
      node: [node],
      initializer: inits,
      sparseInitializer: [],
      input: [makeValueInfo('x', DataType.FLOAT, xDims)],
      output: [makeValueInfo('y', DataType.FLOAT)],
      valueInfo: [],
      quantizationAnnotation: [],
    },
    metadataProps: [],
    functions: [],
  };
}

/** Seeded values uniform in [lo, hi). */
export function uniformValues(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

/** A seeded float32 tensor uniform in [lo, hi). */
export function uniformTensor(dims: number[], seed: number, lo = 0, hi = 1): ort.Tensor {
  return new ort.Tensor('float32', uniformValues(dims.reduce((a, b) => a * b, 1), seed, lo, hi), dims);
}

/** Runs `model` (graph optimisation off: Q/DQ computed as the spec says) and returns its outputs. */
export async function runModel(model: Model, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: 'disabled', ...ortThreadOptions() });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}
