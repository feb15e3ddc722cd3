/**
 * Weight-only int8 through onnxruntime-node: the DQN policy (three Gemm layers) keeps its greedy
 * action, the fixture CNN runs, and what cannot be quantized is reported.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { sqnrDb } from '../numerics/sqnr.js';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { decodeModel, encodeModel } from '../onnx/io.js';
import { makeTensor, tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Model } from '../onnx/types.js';
import { ortThreadOptions } from '@akb/jscc';
import { corruptWeight } from '../../../../test/quantize/hostile.js';
import { quantizeWeightsOnly } from './index.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));
const load = async (p: string): Promise<Model> => decodeModel(new Uint8Array(await readFile(root(p))));

/** Deterministic values uniform in [lo, hi). */
function uniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

async function run(model: Model, feeds: Record<string, ort.Tensor>): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(encodeModel(model), ortThreadOptions());
  const out = await session.run(feeds);
  return session.outputNames.map((n) => out[n]!.data as Float32Array);
}

function argmaxRows(q: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < q.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (q[r * cols + c]! > q[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

describe('quantizeWeightsOnly', () => {
  it('the DQN policy picks the float action on random states, up to near-ties', async () => {
    const model = await load('models/zoo/akb-dqn-policy/model.onnx');
    const result = quantizeWeightsOnly(model);
    expect(result.quantizedNodes).toEqual(['/0/Gemm', '/2/Gemm', '/4/Gemm']);
    expect(result.skipped).toEqual([]);
    const m = result.model;
    // int8 weights, per channel on axis 0 (transB = 1), biases and activations float.
    for (const n of m.graph.node.filter((x) => x.opType === 'DequantizeLinear')) {
      expect(n.attribute.find((a) => a.name === 'axis')?.i).toBe(0);
      expect(m.graph.initializer.find((t) => t.name === n.input[0])?.dataType).toBe(DataType.INT8);
    }
    expect(m.graph.node.filter((x) => x.opType === 'QuantizeLinear')).toEqual([]);
    expect(m.graph.initializer.filter((t) => t.dataType === DataType.FLOAT).map((t) => t.name).sort()).toEqual(
      ['0.bias', '2.bias', '4.bias', '0.weight_scale', '2.weight_scale', '4.weight_scale'].sort(),
    );
    expect(encodeModel(m).length).toBeLessThan(encodeModel(model).length * 0.35);

    const rows = 4096;
    const feeds = { state: new ort.Tensor('float32', uniform(rows * 11, 3, -1, 1), [rows, 11]) };
    const [ref] = await run(model, feeds);
    const [got] = await run(m, feeds);
    expect(sqnrDb(ref!, got!)).toBeGreaterThan(55);
    const actions = ref!.length / rows;
    const a = argmaxRows(ref!, actions);
    const b = argmaxRows(got!, actions);
    // The policy's best two Q-values are often within 0.1% of each other (median gap 0.3%), below the
    // int8 weight error: such near-ties may flip, and a flipped action is worth (in float) within 0.5%
    // of the best. Everything else picks the float action.
    let same = 0;
    for (let r = 0; r < rows; r++) {
      if (a[r] === b[r]) same++;
      const best = ref![r * actions + a[r]!]!;
      const chosen = ref![r * actions + b[r]!]!;
      expect(best - chosen).toBeLessThanOrEqual(0.005 * Math.abs(best));
    }
    expect(same / rows).toBeGreaterThan(0.9);
    // The output layer holds most of that error: with it in float, 98% of the actions match.
    const keepLast = quantizeWeightsOnly(model, { excludeNodes: ['/4/Gemm'] }).model;
    const c = argmaxRows((await run(keepLast, feeds))[0]!, actions);
    expect(c.filter((x, i) => x === a[i]).length / rows).toBeGreaterThan(0.98);
  });

  it('per tensor: one scale per weight, still close to float', async () => {
    const model = await load('models/zoo/akb-dqn-policy/model.onnx');
    const m = quantizeWeightsOnly(model, { perChannel: false }).model;
    for (const n of m.graph.node.filter((x) => x.opType === 'DequantizeLinear')) {
      expect(n.attribute.length).toBe(0);
      expect(m.graph.initializer.find((t) => t.name === n.input[1])?.dims).toEqual([]);
    }
    const feeds = { state: new ort.Tensor('float32', uniform(256 * 11, 8, -1, 1), [256, 11]) };
    expect(sqnrDb((await run(model, feeds))[0]!, (await run(m, feeds))[0]!)).toBeGreaterThan(30);
  });

  it('quantizes Conv, ConvTranspose and MatMul weights of the fixture CNN on their output-channel axes', async () => {
    const model = await load('toolkit/quantize/fixtures/qdq/tiny-cnn-opset21.onnx');
    const result = quantizeWeightsOnly(model, { excludeNodes: ['conv2'] });
    const m = result.model;
    expect(result.quantizedNodes).toEqual(['conv1', 'deconv', 'fc']);
    expect(result.skipped).toEqual([{ node: 'conv2', opType: 'Conv', reason: 'excluded by name' }]);
    const axisOf = (weight: string): number | undefined =>
      m.graph.node.find((n) => n.opType === 'DequantizeLinear' && n.input[0] === `${weight}_quantized`)?.attribute.find((a) => a.name === 'axis')?.i;
    expect([axisOf('c1.w'), axisOf('ct.w'), axisOf('fc.w')]).toEqual([0, 1, 1]);
    expect(m.graph.initializer.find((t) => t.name === 'c2.w')?.dataType).toBe(DataType.FLOAT);
    const feeds = { x: new ort.Tensor('float32', uniform(4 * 3 * 64, 11), [4, 3, 8, 8]) };
    const ref = await run(model, feeds);
    const got = await run(m, feeds);
    expect(sqnrDb(ref[0]!, got[0]!)).toBeGreaterThan(30);
  });

  it('skips a weight computed at run time and one excluded by op type, and reports why', async () => {
    // y = MatMul(x, w) where w is a second graph input, then Gemm with a constant weight.
    const model: Model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      metadataProps: [],
      functions: [],
      graph: {
        name: 'dynamic',
        node: [makeNode('MatMul', ['x', 'w'], ['h'], 'mm'), makeNode('Gemm', ['h', 'g.w'], ['y'], 'gemm', { transB: 1 })],
        initializer: [makeTensor('g.w', DataType.FLOAT, [2, 4], uniform(8, 1, -1, 1))],
        sparseInitializer: [],
        input: [makeValueInfo('x', DataType.FLOAT, ['N', 3]), makeValueInfo('w', DataType.FLOAT, [3, 4])],
        output: [makeValueInfo('y', DataType.FLOAT, ['N', 2])],
        valueInfo: [],
        quantizationAnnotation: [],
      },
    };
    const result = quantizeWeightsOnly(model, { excludeOpTypes: ['Gemm'] });
    expect(result.quantizedNodes).toEqual([]);
    expect(result.skipped).toEqual([
      { node: 'mm', opType: 'MatMul', reason: "its weight 'w' is computed at run time" },
      { node: 'gemm', opType: 'Gemm', reason: 'op type Gemm excluded' },
    ]);
    expect(tensorToFloat32(result.model.graph.initializer[0]!)).toEqual(uniform(8, 1, -1, 1));
    const feeds = { x: new ort.Tensor('float32', uniform(6, 2), [2, 3]), w: new ort.Tensor('float32', uniform(12, 3), [3, 4]) };
    // nothing was quantized: the same graph through the same kernels on this machine, so the same bits
    expect(await run(result.model, feeds)).toEqual(await run(model, feeds));
  });

  it('refuses a weight holding NaN or an infinity with a one-line typed error naming it (a NaN was quantized to 0 without a word, an infinity was a RangeError: exit 70)', () => {
    for (const value of [NaN, Infinity]) {
      const { model, tensor } = corruptWeight(root('models/zoo/akb-dqn-policy/model.onnx'), { value, index: 7 });
      let err: unknown;
      try {
        quantizeWeightsOnly(model);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'NON_FINITE_WEIGHT', exitCode: 1 });
      expect((err as Error).message).toBe(`weight '${tensor}' holds ${String(value)} (1 of 1408 values are not finite): it cannot be quantized`);
    }
  });

  it('does not modify the input model', async () => {
    const model = await load('models/zoo/akb-dqn-policy/model.onnx');
    const before = encodeModel(model);
    quantizeWeightsOnly(model);
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(before))).toBe(true);
  });
});
