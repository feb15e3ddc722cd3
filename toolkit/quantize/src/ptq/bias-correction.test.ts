/**
 * Bias correction on layers whose rounding error is known by construction: every weight sits at
 * k + 0.4 (or k + 0.3) quantization steps, so each rounds down by 0.4 (0.3) of a step, and a constant
 * input of 0.5 makes the output shift of a channel `-0.4 / 128 * 0.5 * 17` exactly. After correction
 * the QDQ model (run by onnxruntime with exact Q/DQ arithmetic) has zero mean error per channel, up
 * to half an output quantization step.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { calibrate } from '../calibrate/run.js';
import { quantizeQdq, tensorsToCalibrate } from '../qdq/index.js';
import type { QdqOptions } from '../qdq/options.js';
import type { Model } from '../onnx/types.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import { correctBias, expectedShift } from './bias-correction.js';
import { dequantizedWeight, weightGrid } from './grid.js';
import { collectLayerStats } from './layer-stats.js';
import { floatInit, oneNodeModel, runModel } from './test-models.js';

const U8S8: QdqOptions = { activationType: 'uint8', weightType: 'int8', perChannel: true };
const STEP = 1 / 128; // max |w| = 127/128 gives scale 2 * (127/128) / 254 = 1/128 exactly

/** A Conv [2, 2, 3, 3] (K = 18): per channel one weight at 127 steps (exact), the others at m + frac steps. */
function biasedWeights(): Float32Array {
  const w = new Float32Array(36);
  for (let o = 0; o < 2; o++) {
    const frac = o === 0 ? 0.4 : 0.3;
    for (let k = 0; k < 18; k++) w[o * 18 + k] = k === 0 ? 127 * STEP : ((k % 5) - 2 + frac) * STEP;
  }
  return w;
}

const SHIFT = [-0.4 * STEP * 0.5 * 17, -0.3 * STEP * 0.5 * 17];
const x = new ort.Tensor('float32', new Float32Array(2 * 6 * 6).fill(0.5), [1, 2, 6, 6]);

/** Mean error per output channel of the quantized `model` against the float `reference`, and half the output step. */
async function channelErrors(model: Model, reference = model): Promise<{ errors: number[]; halfStep: number }> {
  const ranges = await calibrate(model, [{ x }], tensorsToCalibrate(model, U8S8), { method: 'minmax' });
  const q = quantizeQdq(model, ranges, U8S8).model;
  const ref = (await runModel(reference, { x })).y!.data as Float32Array;
  const got = (await runModel(q, { x })).y!.data as Float32Array;
  const per = ref.length / 2;
  const errors = [0, 1].map((o) => {
    let s = 0;
    for (let i = o * per; i < (o + 1) * per; i++) s += got[i]! - ref[i]!;
    return s / per;
  });
  const y = ranges.get('y')!;
  return { errors, halfStep: (Math.max(y.max, 0) - Math.min(y.min, 0)) / 255 / 2 };
}

describe('bias correction', () => {
  it('computes the known output shift of weights rounded 0.4 and 0.3 steps down', async () => {
    const model = oneNodeModel('Conv', [1, 2, 6, 6], [floatInit('w', [2, 2, 3, 3], biasedWeights())]);
    const stats = await collectLayerStats(model, [{ x }], U8S8);
    const m = stats.layers.get('layer')!;
    expect([...m.mean[0]!]).toEqual(new Array(18).fill(0.5));
    const w = stats.model.graph.initializer.find((t) => t.name === 'w')!;
    const grid = weightGrid(w, m.target.spec);
    expect([...grid.scales]).toEqual([STEP, STEP]);
    const shift = expectedShift(m.target, dequantizedWeight(grid), tensorToFloat32(w), m.mean);
    expect(shift[0]).toBeCloseTo(SHIFT[0]!, 7); // the weights are float32: 1e-9 off the real k + 0.4
    expect(shift[1]).toBeCloseTo(SHIFT[1]!, 7);
  });

  it('leaves zero mean error per channel in the quantized Conv (and adds a bias where there was none)', async () => {
    for (const withBias of [true, false]) {
      const inits = [floatInit('w', [2, 2, 3, 3], biasedWeights()), ...(withBias ? [floatInit('b', [2], [0.1, -0.2])] : [])];
      const model = oneNodeModel('Conv', [1, 2, 6, 6], inits);
      const before = await channelErrors(model);
      for (const o of [0, 1]) expect(Math.abs(before.errors[o]! - SHIFT[o]!)).toBeLessThanOrEqual(before.halfStep + 1e-6);
      const stats = await collectLayerStats(model, [{ x }], U8S8);
      const r = correctBias(stats.model, stats);
      expect(r.layers).toEqual([expect.objectContaining({ node: 'layer', added: !withBias })]);
      expect(r.layers[0]!.maxShift).toBeCloseTo(-SHIFT[0]!, 7);
      expect(model.graph.node[0]!.input.length).toBe(withBias ? 3 : 2); // the input model is untouched
      const after = await channelErrors(r.model, model);
      for (const o of [0, 1]) expect(Math.abs(after.errors[o]!)).toBeLessThanOrEqual(after.halfStep + 1e-6);
      expect(after.halfStep).toBeLessThan(Math.abs(SHIFT[1]!) / 4); // the test can tell the two apart
    }
  });

  it('corrects a MatMul through the constant of the Add after it, and says why it skips one without', async () => {
    const w = floatInit('w', [18, 2], Array.from({ length: 36 }, (_, i) => biasedWeights()[(i % 2) * 18 + Math.floor(i / 2)]!));
    const model = oneNodeModel('MatMul', [3, 18], [w]);
    const stats = await collectLayerStats(model, [{ x: new ort.Tensor('float32', new Float32Array(54).fill(0.5), [3, 18]) }], U8S8);
    const alone = correctBias(stats.model, stats).skipped;
    expect(alone.map((s) => s.node)).toEqual(['layer']);
    expect(alone[0]!.reason).toMatch(/MatMul has no bias/);
    const g = stats.model.graph;
    const withAdd: Model = {
      ...stats.model,
      graph: {
        ...g,
        node: [{ ...g.node[0]!, output: ['mm'] }, { name: 'add', opType: 'Add', domain: '', input: ['mm', 'c'], output: ['y'], attribute: [] }],
        initializer: [...g.initializer, floatInit('c', [2], [1, 2])],
      },
    };
    const r = correctBias(withAdd, stats);
    const c = r.model.graph.initializer.find((t) => t.name === r.layers[0]!.bias)!;
    const got = tensorToFloat32(c);
    expect(got[0]).toBeCloseTo(1 - SHIFT[0]!, 6);
    expect(got[1]).toBeCloseTo(2 - SHIFT[1]!, 6);
  });

  it('corrects a Gemm through alpha and beta: C -= alpha * shift / beta, along the last axis of a [1, N] bias', async () => {
    const model = oneNodeModel('Gemm', [3, 18], [floatInit('w', [2, 18], biasedWeights()), floatInit('c', [1, 2], [1, 2])], { transB: 1, alpha: 2, beta: 0.5 });
    const stats = await collectLayerStats(model, [{ x: new ort.Tensor('float32', new Float32Array(54).fill(0.5), [3, 18]) }], U8S8);
    const r = correctBias(stats.model, stats);
    const c = r.model.graph.initializer.find((t) => t.name === r.layers[0]!.bias)!;
    expect(c.dims).toEqual([1, 2]);
    const got = tensorToFloat32(c);
    expect(got[0]).toBeCloseTo(1 - (2 * SHIFT[0]!) / 0.5, 6);
    expect(got[1]).toBeCloseTo(2 - (2 * SHIFT[1]!) / 0.5, 6);
  });
});
