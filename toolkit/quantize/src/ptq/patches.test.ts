/**
 * Input patches and their moments: the mean and E[x x^T] of tiny Conv, ConvTranspose and Gemm
 * layers against brute force written from the operators' definitions (the ConvTranspose one by
 * scattering each input pixel through each kernel tap, the way the spec defines it), and every
 * patch layout checked against onnxruntime: the output computed as row . patch must equal the node's
 * output for every position and channel.
 */
import { describe, expect, it } from 'vitest';
import type * as ort from 'onnxruntime-node';
import type { AttrValue } from '../onnx/graph.js';
import type { QdqOptions } from '../qdq/options.js';
import { collectLayerStats, choosePositions, seededRandom } from './layer-stats.js';
import { patchSource } from './patches.js';
import { findTargets, prepareWorkingCopy, rowIndexer } from './targets.js';
import { floatInit, oneNodeModel, runModel, uniformTensor, uniformValues } from './test-models.js';

const U8S8: QdqOptions = { activationType: 'uint8', weightType: 'int8', perChannel: true };

/** Mean and E[x x^T] of a list of patches. */
function moments(patches: number[][]): { mean: number[]; h: number[] } {
  const K = patches[0]!.length;
  const mean = new Array<number>(K).fill(0);
  const h = new Array<number>(K * K).fill(0);
  for (const x of patches) {
    for (let i = 0; i < K; i++) {
      mean[i]! += x[i]! / patches.length;
      for (let j = 0; j < K; j++) h[i * K + j]! += (x[i]! * x[j]!) / patches.length;
    }
  }
  return { mean, h };
}

function expectClose(got: ArrayLike<number>, want: readonly number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-6);
}

async function statsOf(op: string, xDims: number[], wDims: number[], attrs: Record<string, AttrValue>, x: ort.Tensor) {
  const w = floatInit('w', wDims, uniformValues(wDims.reduce((a, b) => a * b, 1), 7, -1, 1));
  const model = oneNodeModel(op, xDims, [w], attrs);
  const stats = await collectLayerStats(model, [{ x }], U8S8, { maxPatches: 1 << 20 });
  return stats.layers.get('layer')!;
}

describe('layer moments against brute force', () => {
  it('Conv 1x2x4x4, 3x3 kernel, pad 1, stride 2, groups 2', async () => {
    const x = uniformTensor([1, 2, 4, 4], 3);
    const X = x.data as Float32Array;
    const m = await statsOf('Conv', [1, 2, 4, 4], [4, 1, 3, 3], { group: 2, pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] }, x);
    expect(m.target.groups).toBe(2);
    expect(m.patches).toBe(4);
    for (let g = 0; g < 2; g++) {
      const patches: number[][] = [];
      for (let oh = 0; oh < 2; oh++) {
        for (let ow = 0; ow < 2; ow++) {
          const p: number[] = [];
          for (let i = 0; i < 3; i++) {
            for (let j = 0; j < 3; j++) {
              const [r, c] = [2 * oh - 1 + i, 2 * ow - 1 + j];
              p.push(r >= 0 && r < 4 && c >= 0 && c < 4 ? X[g * 16 + r * 4 + c]! : 0);
            }
          }
          patches.push(p);
        }
      }
      const want = moments(patches);
      expectClose(m.mean[g]!, want.mean);
      expectClose(m.hessian![g]!, want.h);
    }
  });

  it('ConvTranspose 1x4x3x3, groups 2, stride 2, pads 1,0,0,1, output_padding 1', async () => {
    const [s, pb, pe, op, H, k] = [2, [1, 0], [0, 1], 1, 3, 3];
    const x = uniformTensor([1, 4, H, H], 5);
    const X = x.data as Float32Array;
    const m = await statsOf('ConvTranspose', [1, 4, H, H], [4, 1, k, k], { group: 2, pads: [...pb, ...pe], strides: [s, s], output_padding: [op, op] }, x);
    const outH = s * (H - 1) + op + k - pb[0]! - pe[0]!;
    const outW = s * (H - 1) + op + k - pb[1]! - pe[1]!;
    expect(m.patches).toBe(outH * outW);
    for (let g = 0; g < 2; g++) {
      // scatter: input pixel (ih, iw) through tap (i, j) lands on (ih*s - pb + i, iw*s - pb + j)
      const patches = Array.from({ length: outH * outW }, () => new Array<number>(2 * k * k).fill(0));
      for (let c = 0; c < 2; c++) {
        for (let ih = 0; ih < H; ih++) {
          for (let iw = 0; iw < H; iw++) {
            for (let i = 0; i < k; i++) {
              for (let j = 0; j < k; j++) {
                const [oh, ow] = [ih * s - pb[0]! + i, iw * s - pb[1]! + j];
                if (oh >= 0 && oh < outH && ow >= 0 && ow < outW) patches[oh * outW + ow]![(c * k + i) * k + j] = X[((g * 2 + c) * H + ih) * H + iw]!;
              }
            }
          }
        }
      }
      const want = moments(patches);
      expectClose(m.mean[g]!, want.mean);
      expectClose(m.hessian![g]!, want.h);
    }
  });

  it('Gemm with transA: each patch is a column of A', async () => {
    const x = uniformTensor([3, 5], 9, -1, 1); // A^T: K = 3 rows, M = 5 columns
    const A = x.data as Float32Array;
    const m = await statsOf('Gemm', [3, 5], [4, 3], { transA: 1, transB: 1 }, x);
    const patches = Array.from({ length: 5 }, (_, col) => [0, 1, 2].map((k) => A[k * 5 + col]!));
    const want = moments(patches);
    expect(m.target.outChannels).toBe(4);
    expectClose(m.mean[0]!, want.mean);
    expectClose(m.hessian![0]!, want.h);
  });

  it('samples at most maxPatches positions, the same ones on every run, and skips H past maxHessianRow', async () => {
    const x = uniformTensor([1, 8, 16, 16], 11);
    const w = floatInit('w', [4, 8, 3, 3], uniformValues(288, 2, -1, 1));
    const model = oneNodeModel('Conv', [1, 8, 16, 16], [w], { pads: [1, 1, 1, 1] });
    const a = (await collectLayerStats(model, [{ x }], U8S8, { maxPatches: 50, maxHessianRow: 72 })).layers.get('layer')!;
    const b = (await collectLayerStats(model, [{ x }], U8S8, { maxPatches: 50, maxHessianRow: 71 })).layers.get('layer')!;
    expect(a.patches).toBe(50);
    const many = await collectLayerStats(model, [1, 2, 3].map((seed) => ({ x: uniformTensor([1, 8, 16, 16], seed) })), U8S8, { maxPatches: 50 });
    expect(many.layers.get('layer')!.patches).toBe(50); // shares of 17, 17 and 16
    expect(b.hessian).toBeUndefined();
    expect(b.hessianSkipped).toMatch(/patch length 72 > 71/);
    expect([...b.mean[0]!]).toEqual([...a.mean[0]!]);
    const picks = choosePositions(1000, 30, seededRandom(4));
    expect(new Set(picks).size).toBe(30);
    expect(picks.every((p) => p >= 0 && p < 1000)).toBe(true);
  });
});

/** Layouts whose row . patch must reproduce onnxruntime's output. */
const LAYOUTS: { name: string; op: string; x: number[]; w: number[]; attrs: Record<string, AttrValue> }[] = [
  { name: 'Conv 2-D, dilation 2, asymmetric pads', op: 'Conv', x: [2, 3, 7, 6], w: [5, 3, 3, 2], attrs: { dilations: [2, 1], pads: [1, 0, 2, 1], strides: [1, 2] } },
  { name: 'Conv SAME_UPPER, odd padding', op: 'Conv', x: [1, 2, 6, 6], w: [3, 2, 2, 2], attrs: { auto_pad: 'SAME_UPPER', strides: [1, 1] } },
  { name: 'Conv SAME_LOWER, stride 2', op: 'Conv', x: [1, 2, 7, 7], w: [3, 2, 4, 4], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
  { name: 'Conv VALID', op: 'Conv', x: [1, 2, 5, 5], w: [2, 2, 3, 3], attrs: { auto_pad: 'VALID' } },
  { name: 'depthwise Conv', op: 'Conv', x: [1, 4, 5, 5], w: [4, 1, 3, 3], attrs: { group: 4, pads: [1, 1, 1, 1] } },
  { name: 'Conv 1-D', op: 'Conv', x: [2, 3, 9], w: [4, 3, 3], attrs: { pads: [2, 0], strides: [2], dilations: [2] } },
  { name: 'ConvTranspose, groups 2, dilation 2', op: 'ConvTranspose', x: [1, 4, 4, 3], w: [4, 3, 3, 2], attrs: { group: 2, strides: [2, 3], dilations: [2, 1], pads: [1, 0, 0, 1] } },
  { name: 'ConvTranspose SAME_UPPER, odd padding', op: 'ConvTranspose', x: [1, 2, 4, 4], w: [2, 3, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: 'ConvTranspose SAME_LOWER, odd padding', op: 'ConvTranspose', x: [1, 2, 4, 4], w: [2, 3, 3, 3], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
  { name: 'ConvTranspose output_shape', op: 'ConvTranspose', x: [1, 2, 4, 4], w: [2, 3, 3, 3], attrs: { output_shape: [9, 10], strides: [2, 2] } },
  { name: 'ConvTranspose 1-D, output_padding', op: 'ConvTranspose', x: [1, 2, 5], w: [2, 3, 3], attrs: { strides: [2], output_padding: [1], pads: [1, 1] } },
  { name: 'Gemm', op: 'Gemm', x: [4, 6], w: [6, 5], attrs: { alpha: 1 } },
  { name: 'Gemm transA transB', op: 'Gemm', x: [6, 4], w: [5, 6], attrs: { transA: 1, transB: 1 } },
  { name: 'MatMul 3-D A', op: 'MatMul', x: [2, 3, 6], w: [6, 5], attrs: {} },
];

describe('patch layouts against onnxruntime', () => {
  for (const c of LAYOUTS) {
    it(c.name, async () => {
      const wValues = uniformValues(c.w.reduce((a, b) => a * b, 1), 13, -1, 1);
      const model = oneNodeModel(c.op, c.x, [floatInit('w', c.w, wValues)], c.attrs);
      const x = uniformTensor(c.x, 17, -1, 1);
      const y = (await runModel(model, { x })).y!;
      const work = prepareWorkingCopy(model);
      const t = findTargets(work, U8S8).targets[0]!;
      const src = patchSource(t, work.graph.node[0]!, x.data as Float32Array, c.x);
      const index = rowIndexer(t);
      const Y = y.data as Float32Array;
      expect(src.positions * t.outChannels).toBe(Y.length);
      const conv = t.op === 'Conv' || t.op === 'ConvTranspose';
      const perImage = conv ? Y.length / (y.dims[0]! * t.outChannels) : 1;
      const patch = new Float64Array(t.rowLength);
      let worst = 0;
      for (let p = 0; p < src.positions; p++) {
        for (let o = 0; o < t.outChannels; o++) {
          src.fill(p, Math.floor(o / (t.outChannels / t.groups)), patch);
          let dot = 0;
          for (let k = 0; k < t.rowLength; k++) dot += patch[k]! * wValues[index(o, k)]!;
          const at = conv ? (Math.floor(p / perImage) * t.outChannels + o) * perImage + (p % perImage) : p * t.outChannels + o;
          worst = Math.max(worst, Math.abs(dot - Y[at]!));
        }
      }
      expect(worst).toBeLessThan(1e-5);
    });
  }
});
