/**
 * X^T X of blocks of patches, computed by onnxruntime (a Transpose and a MatMul, MLAS's GEMM) and
 * added into a float64 H. Done in JavaScript, the K^2 / 2 multiply-adds per patch took 30-70 s for
 * the Deep JSCC encoder's four 5x5x64 Convs at 2048 patches on a shared 2-core machine; onnxruntime
 * does the same in well under a second. Each block's sum is float32 (at most BLOCK_ROWS products per
 * entry, relative error ~1e-6), the sum over blocks float64.
 */
import { ortThreadOptions } from '@akb/jscc';
import * as ort from 'onnxruntime-node';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { encodeModel } from '../onnx/io.js';
import { DataType, type Model } from '../onnx/types.js';

/** Patches per onnxruntime call. */
export const BLOCK_ROWS = 256;

function gramModel(): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'gram',
      node: [makeNode('Transpose', ['x'], ['xt'], 'transpose', { perm: [1, 0] }), makeNode('MatMul', ['xt', 'x'], ['h'], 'matmul')],
      initializer: [],
      sparseInitializer: [],
      input: [makeValueInfo('x', DataType.FLOAT, ['rows', 'k'])],
      output: [makeValueInfo('h', DataType.FLOAT, ['k', 'k'])],
      valueInfo: [],
      quantizationAnnotation: [],
    },
    metadataProps: [],
    functions: [],
  };
}

/** One onnxruntime session computing X^T X for any [rows, K] block. */
export class GramEngine {
  private session?: Promise<ort.InferenceSession>;

  /** Adds X^T X of `x` ([rows, K] row-major, float32) into `h` (K x K, float64). */
  async accumulate(x: Float32Array, rows: number, K: number, h: Float64Array): Promise<void> {
    this.session ??= ort.InferenceSession.create(encodeModel(gramModel()), { executionProviders: ['cpu'], ...ortThreadOptions() });
    const session = await this.session;
    const out = await session.run({ x: new ort.Tensor('float32', x.subarray(0, rows * K), [rows, K]) });
    const g = out.h!.data as Float32Array;
    for (let i = 0; i < g.length; i++) h[i]! += g[i]!;
  }

  async release(): Promise<void> {
    if (this.session) await (await this.session).release();
    this.session = undefined;
  }
}
