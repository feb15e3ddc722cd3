/**
 * MSE calibration against answers known without it: the range it picks from a histogram is compared
 * with a brute-force sweep that quantizes and dequantizes the samples themselves (the QuantizeLinear /
 * DequantizeLinear arithmetic of qparams.ts, verified against onnxruntime) and measures the squared
 * error directly; uniform data must keep (almost) its full range and a far outlier must be clipped.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { computeQParams, quantizeValue, type QuantType } from '../numerics/qparams.js';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { DataType, type Model } from '../onnx/types.js';
import { resolveCalibrationOptions, TensorCollector } from './collector.js';
import { histogramMse } from './mse.js';
import { calibrate } from './run.js';
import type { TensorRange } from './types.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}

/** Standard normal samples (Box-Muller). */
function gaussian(n: number, seed: number): Float32Array {
  const u = rng(seed);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

/** Two-pass MSE calibration of one tensor through the collector (range pass, then histogram pass). */
function mseOf(data: Float32Array, opts: { symmetric?: boolean; activationType?: QuantType } = {}): TensorRange {
  const c = new TensorCollector('t', resolveCalibrationOptions({ method: 'mse', ...opts }));
  c.observeRange(data);
  c.startHistogram();
  c.observeHistogram(data);
  return c.result();
}

/** Mean squared error of quantize-dequantize of the samples with the range [lo, hi]. */
function sampleMse(data: Float32Array, lo: number, hi: number, type: QuantType, symmetric: boolean): number {
  const p = computeQParams(lo, hi, type, { symmetric });
  let sum = 0;
  for (const x of data) {
    const d = x - (quantizeValue(x, p, type) - p.zeroPoint) * p.scale;
    sum += d * d;
  }
  return sum / data.length;
}

/** argmin over `values` of `err`. */
function argmin(values: number[], err: (v: number) => number): { at: number; err: number } {
  let top = { at: NaN, err: Infinity };
  for (const v of values) {
    const e = err(v);
    if (e < top.err) top = { at: v, err: e };
  }
  return top;
}

const sweep = (from: number, to: number, step: number): number[] => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, k) => from + k * step);
const maxAbs = (d: Float32Array): number => d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('MSE calibration', () => {
  it('scores a range by the error integrals known in closed form (uniform density)', () => {
    // 4096 equal bins over [0, 2]: uniform data
    const edges = Float64Array.from({ length: 4097 }, (_, i) => (2 * i) / 4096);
    const counts = new Float64Array(4096).fill(1);
    const q = { type: 'uint8' as const, symmetric: false };
    // [0, 2] in uint8: step s = 2 / 255, rounding error s^2 / 12 everywhere
    const s = Math.fround(2 / 255);
    expect(histogramMse(counts, edges, 0, 2, 0, 2, q) / (s * s / 12)).toBeCloseTo(1, 3);
    // [0, 1]: half the data rounded with s = 1 / 255, the other half clipped to 1: (1/2) s^2 / 12 + (1/2) * 1/3
    const s1 = Math.fround(1 / 255);
    expect(histogramMse(counts, edges, 0, 2, 0, 1, q)).toBeCloseTo(0.5 * (s1 * s1) / 12 + 0.5 / 3, 7);
  });

  it('keeps (almost) the full range of uniform data', () => {
    const u = rng(3);
    const data = Float32Array.from({ length: 20000 }, () => -1 + 4 * u());
    const r = mseOf(data);
    // clipping uniform data costs more than the finer rounding gains beyond ~R/600 per end
    expect(r.min).toBeLessThan(-0.98);
    expect(r.max).toBeGreaterThan(2.96);
  });

  it('a symmetric int8 clip of Gaussian data matches a brute-force sweep on the samples within two bins', () => {
    const data = gaussian(20000, 7);
    const t = maxAbs(data);
    const bin = (2 * t) / 2048; // the histogram's bin width
    const r = mseOf(data, { symmetric: true });
    expect(r.min).toBe(-r.max);
    const brute = argmin(sweep(1, t, bin / 2), (a) => sampleMse(data, -a, a, 'int8', true));
    expect(Math.abs(r.max - brute.at)).toBeLessThanOrEqual(2 * bin);
    expect(sampleMse(data, r.min, r.max, 'int8', true)).toBeLessThanOrEqual(brute.err * 1.01);
  });

  it('a ReLU-like (half-normal) uint8 range starts at 0 and its end matches the brute-force sweep within two bins', () => {
    const data = gaussian(20000, 8).map(Math.abs);
    const t = maxAbs(data);
    const bin = (2 * t) / 2048;
    const r = mseOf(data);
    expect(r.min).toBe(0);
    const brute = argmin(sweep(0.5, t, bin / 2), (h) => sampleMse(data, 0, h, 'uint8', false));
    expect(Math.abs(r.max - brute.at)).toBeLessThanOrEqual(2 * bin);
  });

  it('an asymmetric uint8 range of skewed Laplace data: each end is the brute-force best given the other, within two bins', () => {
    // Laplace tails (scale 1 below, 2 above): clipping pays, and the optimum is sharp enough to locate
    const u = rng(9);
    const data = Float32Array.from({ length: 40000 }, () => {
      const e = -Math.log(u());
      return u() < 0.5 ? -e : 2 * e;
    });
    const t = maxAbs(data);
    const bin = (2 * t) / 2048;
    const r = mseOf(data);
    expect(r.min).toBeLessThan(0);
    expect(r.max).toBeGreaterThan(0);
    // each end alone, at half-bin steps within 1.5 of the pick (the 2-D sweep below covers the rest)
    const hi = argmin(sweep(r.max - 1.5, Math.min(r.max + 1.5, t), bin / 2), (h) => sampleMse(data, r.min, h, 'uint8', false));
    const lo = argmin(sweep(-r.min - 1.5, -r.min + 1.5, bin / 2), (l) => sampleMse(data, -l, r.max, 'uint8', false));
    expect(Math.abs(r.max - hi.at)).toBeLessThanOrEqual(2 * bin);
    // The low end's curve is flat (0.03% between the two minima, 6 bins apart, on this seed) and the
    // histogram's in-bin estimate is ~0.1% off the samples' own MSE, so its argmin may sit a few bins away.
    expect(Math.abs(r.min + lo.at)).toBeLessThanOrEqual(8 * bin);
    expect(sampleMse(data, r.min, r.max, 'uint8', false)).toBeLessThanOrEqual(lo.err * 1.001);
    // and no range of a coarse 2-D sweep does better on the samples (1% for the histogram's approximation)
    let best = Infinity;
    for (const l of sweep(1, 12, 1)) for (const h of sweep(2, t, 1)) best = Math.min(best, sampleMse(data, -l, h, 'uint8', false));
    expect(sampleMse(data, r.min, r.max, 'uint8', false)).toBeLessThanOrEqual(best * 1.01);
  });

  it('clips well inside one far outlier among as many values as a real activation has', () => {
    // Clipping the outlier x costs (x - c)^2 / N per value, keeping it ~(x / 255)^2 / 12: with 2M values
    // (e.g. 32 samples of 64 x 32 x 32) clipping wins; among 10,000 values keeping it is the least MSE.
    const data = gaussian(2_000_000, 10);
    data[1234] = 100;
    const r = mseOf(data);
    expect(r.max).toBeLessThan(30);
    expect(r.min).toBeLessThan(-2);
    expect(r.min).toBeGreaterThanOrEqual(data.reduce((m, v) => Math.min(m, v), 0));
    const few = gaussian(10_000, 11);
    few[1234] = 100;
    expect(mseOf(few).max).toBeGreaterThan(90);
  });

  it('keeps the MinMax range of a tensor that is the same in every sample (a constant of the model)', () => {
    const values = gaussian(64, 12); // e.g. 64 per-channel FiLM parameters of a fixed-SNR model
    const c = new TensorCollector('t', resolveCalibrationOptions({ method: 'mse' }));
    for (let i = 0; i < 3; i++) c.observeRange(values);
    c.startHistogram();
    for (let i = 0; i < 3; i++) c.observeHistogram(values);
    expect(c.result()).toEqual({ min: Math.min(...values), max: Math.max(...values) });
  });

  it('runs through calibrate() (two passes over an array of samples), ranges containing 0', async () => {
    const model: Model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [makeNode('Relu', ['x'], ['y'], 'relu'), makeNode('Add', ['x', 'one'], ['z'], 'add')],
        initializer: [{ name: 'one', dims: [], dataType: DataType.FLOAT, floatData: [10] }],
        sparseInitializer: [],
        input: [makeValueInfo('x', DataType.FLOAT, [1000])],
        output: [makeValueInfo('y', DataType.FLOAT), makeValueInfo('z', DataType.FLOAT)],
        valueInfo: [],
        quantizationAnnotation: [],
      },
      metadataProps: [],
      functions: [],
    };
    const samples = [0, 1, 2, 3].map((k) => ({ x: new ort.Tensor('float32', gaussian(1000, 20 + k), [1000]) }));
    const all = Float32Array.from(samples.flatMap((s) => [...(s.x.data)]));
    const top = all.reduce((m, v) => Math.max(m, v), 0);
    const ranges = await calibrate(model, samples, ['y', 'z'], { method: 'mse' });
    const y = ranges.get('y')!;
    expect(y.min).toBe(0);
    expect(y.max).toBeGreaterThan(2);
    expect(y.max).toBeLessThanOrEqual(top);
    const z = ranges.get('z')!; // all values around 10: the range still starts at 0
    expect(z.min).toBe(0);
    expect(z.max).toBeGreaterThan(12);
    expect(z.max).toBeLessThanOrEqual(10 + top + 1e-5);
  });
});
