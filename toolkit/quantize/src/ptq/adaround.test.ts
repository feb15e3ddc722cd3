/**
 * Adaptive rounding written back into the float model: quantizing the snapped weights (as
 * quantizeQdq does, and through quantizeQdq itself) gives back exactly the integers chosen with the
 * original scales and zero points, for per-channel int8 (Conv, grouped ConvTranspose whose channels
 * span the groups) and per-tensor asymmetric uint8 weights; the layer error never grows.
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../calibrate/run.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import type { AttrValue } from '../onnx/graph.js';
import { quantizeQdq, tensorsToCalibrate } from '../qdq/index.js';
import type { QdqOptions } from '../qdq/options.js';
import { quantizeWeight } from '../qdq/weights.js';
import { adaround } from './adaround.js';
import { collectLayerStats } from './layer-stats.js';
import { floatInit, oneNodeModel, uniformTensor, uniformValues } from './test-models.js';

const CASES: { name: string; op: string; x: number[]; w: number[]; attrs: Record<string, AttrValue>; qdq: QdqOptions }[] = [
  { name: 'Conv, per-channel int8', op: 'Conv', x: [1, 4, 8, 8], w: [6, 4, 3, 3], attrs: { pads: [1, 1, 1, 1] }, qdq: { activationType: 'uint8', weightType: 'int8', perChannel: true } },
  { name: 'Conv, per-channel int8, reduce range', op: 'Conv', x: [1, 4, 8, 8], w: [6, 4, 3, 3], attrs: {}, qdq: { activationType: 'uint8', weightType: 'int8', perChannel: true, reduceRange: true } },
  { name: 'ConvTranspose groups 2, per channel on axis 1', op: 'ConvTranspose', x: [1, 4, 5, 5], w: [4, 3, 3, 3], attrs: { group: 2, strides: [2, 2] }, qdq: { activationType: 'uint8', weightType: 'int8', perChannel: true } },
  { name: 'Gemm, per-tensor asymmetric uint8', op: 'Gemm', x: [16, 12], w: [12, 5], attrs: {}, qdq: { activationType: 'uint8', weightType: 'uint8', perChannel: false } },
];

/** The quantization channel of flat element i of a weight of shape dims, per channel on `axis`. */
function channel(dims: number[], axis: number | undefined, i: number): number {
  if (axis === undefined) return 0;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  return Math.floor(i / inner) % dims[axis]!;
}

describe('adaround', () => {
  for (const c of CASES) {
    it(`${c.name}: the snapped weights quantize back to the chosen integers with the same scales`, async () => {
      const n = c.w.reduce((a, b) => a * b, 1);
      const w = floatInit('w', c.w, uniformValues(n, 21, -0.3, 0.5));
      const model = oneNodeModel(c.op, c.x, [w], c.attrs);
      const samples = [1, 2, 3].map((s) => ({ x: uniformTensor(c.x, s, -0.2, 1) }));
      const stats = await collectLayerStats(model, samples, c.qdq);
      const r = adaround(stats.model, stats, { centered: false });
      const layer = r.layers[0]!;
      expect(layer.changed).toBeGreaterThan(0);
      expect(layer.errorAfter).toBeLessThan(layer.errorBefore);
      const spec = stats.layers.get('layer')!.target.spec;
      const snapped = r.model.graph.initializer.find((t) => t.name === layer.weight)!;
      const orig = quantizeWeight(w, spec);
      const again = quantizeWeight(snapped, spec);
      expect(again.params).toEqual(orig.params);
      let differ = 0;
      const values = tensorToFloat32(snapped);
      const original = tensorToFloat32(w);
      for (let i = 0; i < n; i++) {
        const p = again.params[channel(c.w, again.axis, i)]!;
        if (again.data[i] !== orig.data[i]) differ++;
        // on the grid: DequantizeLinear of the integer gives the stored value (or it is an untouched original)
        const back = Math.fround((again.data[i]! - p.zeroPoint) * p.scale);
        expect(back === values[i] || values[i] === original[i]).toBe(true);
      }
      expect(differ).toBe(layer.changed);
      // and quantizeQdq stores exactly these integers
      const ranges = await calibrate(r.model, samples, tensorsToCalibrate(r.model, c.qdq), { method: 'minmax' });
      const q = quantizeQdq(r.model, ranges, c.qdq).model;
      const dq = q.graph.node.find((nd) => nd.opType === 'DequantizeLinear' && q.graph.node.some((m) => m.opType === c.op && m.input[1] === nd.output[0]))!;
      const stored = q.graph.initializer.find((t) => t.name === dq.input[0])!;
      expect([...(c.qdq.weightType === 'int8' ? new Int8Array(stored.rawData!.buffer, stored.rawData!.byteOffset, n) : stored.rawData!.subarray(0, n))]).toEqual([...again.data]);
    });
  }

  it('keeps round to nearest past its time budget, and reports it', async () => {
    const c = CASES[0]!;
    const model = oneNodeModel(c.op, c.x, [floatInit('w', c.w, uniformValues(216, 21, -0.3, 0.5))], c.attrs);
    const stats = await collectLayerStats(model, [{ x: uniformTensor(c.x, 1) }], c.qdq);
    let clock = 0;
    const r = adaround(stats.model, stats, { layerBudgetMs: 10, now: () => (clock += 100) });
    expect(r.layers[0]).toMatchObject({ changed: 0, stoppedEarly: true });
    expect(r.layers[0]!.errorAfter).toBeCloseTo(r.layers[0]!.errorBefore, 12);
  });
});
