import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  computeQParams,
  dequantizeArray,
  qRange,
  quantizeArray,
  quantizePerChannel,
  quantizePerTensor,
  roundHalfEven,
  type QuantType,
} from './qparams.js';
import { sqnrDb } from './sqnr.js';

// Reference numbers from onnxruntime 1.30's quant_utils (fixtures/calib/make_qparams_fixture.py).
interface Fixture {
  cases: { rmin: number; rmax: number; type: QuantType; symmetric: boolean; reduceRange: boolean; qmin: number; qmax: number; scale: number; zeroPoint: number }[];
  quantize: { type: QuantType; scale: number; zeroPoint: number; x: number[]; q: number[] }[];
  perChannel: { dims: number[]; w: number[]; runs: { axis: number; type: QuantType; symmetric: boolean; reduceRange: boolean; scales: number[]; zeroPoints: number[]; q: number[] }[] };
}
const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../fixtures/calib/qparams.json', import.meta.url)), 'utf8')) as Fixture;

describe('roundHalfEven', () => {
  it('rounds ties to even, unlike Math.round', () => {
    expect([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5].map(roundHalfEven)).toEqual([-4, -2, -2, 0, 0, 2, 2, 4]);
    expect([-2.6, -2.4, 2.4, 2.6, 0.49999999999999994, 1e300].map(roundHalfEven)).toEqual([-3, -2, 2, 3, 0, 1e300]);
    expect(Object.is(roundHalfEven(-0.4), 0)).toBe(true);
    expect(roundHalfEven(Infinity)).toBe(Infinity);
  });
});

describe('computeQParams matches onnxruntime compute_scale_zp', () => {
  it(`agrees bit for bit on ${fixture.cases.length} ranges × types × options`, () => {
    for (const c of fixture.cases) {
      const opts = { symmetric: c.symmetric, reduceRange: c.reduceRange };
      expect(qRange(c.type, opts)).toEqual({ qmin: c.qmin, qmax: c.qmax });
      const p = computeQParams(c.rmin, c.rmax, c.type, opts);
      expect({ ...c, scale: p.scale, zeroPoint: p.zeroPoint }).toEqual(c);
    }
  });
  it('uses [-127, 127] for symmetric int8, zero point 128 for symmetric uint8, scale 1 for a tiny range', () => {
    expect(computeQParams(-2, 1, 'int8', { symmetric: true })).toEqual({ scale: Math.fround(4 / 254), zeroPoint: 0 });
    expect(computeQParams(-2, 1, 'uint8', { symmetric: true }).zeroPoint).toBe(128);
    expect(computeQParams(0, 0, 'uint8')).toEqual({ scale: 1, zeroPoint: 0 });
    expect(computeQParams(1e-40, 2e-40, 'int8')).toEqual({ scale: 1, zeroPoint: 0 });
  });
  it('rejects a NaN or infinite bound with a one-line error', () => {
    expect(() => computeQParams(NaN, 1, 'int8')).toThrow(/^cannot quantize the range \[NaN, 1\]: bounds must be finite numbers$/);
    expect(() => computeQParams(0, Infinity, 'uint8')).toThrow(/bounds must be finite/);
  });
});

describe('quantizeArray matches onnxruntime quantize_nparray', () => {
  it('rounds half to even, adds the zero point and clamps to the storage range', () => {
    for (const run of fixture.quantize) {
      const q = quantizeArray(Float32Array.from(run.x), { scale: run.scale, zeroPoint: run.zeroPoint }, run.type);
      expect(Array.from(q)).toEqual(run.q);
    }
  });
  it('dequantizes back within half a step', () => {
    const x = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i) * 3);
    const p = computeQParams(-3, 3, 'int8', { symmetric: true });
    const back = dequantizeArray(quantizeArray(x, p, 'int8'), p);
    for (let i = 0; i < x.length; i++) expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(p.scale / 2 + 1e-7);
    expect(sqnrDb(x, back)).toBeGreaterThan(35);
  });
});

describe('quantizePerChannel matches onnxruntime QDQ per-channel weights', () => {
  const { dims, w, runs } = fixture.perChannel;
  it(`agrees on scales, zero points and data for ${runs.length} axis/type/option runs`, () => {
    for (const r of runs) {
      const out = quantizePerChannel(Float32Array.from(w), dims, r.axis, r.type, { symmetric: r.symmetric, reduceRange: r.reduceRange });
      const label = `axis ${r.axis} ${r.type} symmetric=${r.symmetric} reduceRange=${r.reduceRange}`;
      expect(Array.from(out.scales), label).toEqual(r.scales);
      expect(Array.from(out.zeroPoints), label).toEqual(r.zeroPoints);
      expect(Array.from(out.data), label).toEqual(r.q);
    }
  });
  it('is symmetric by default (zero point 0 for int8, 128 for uint8), like onnxruntime QDQ', () => {
    const wt = Float32Array.from([0.5, 1, 2, 3, -1, 0.25]);
    expect(Array.from(quantizePerChannel(wt, [2, 3], 0, 'int8').zeroPoints)).toEqual([0, 0]);
    expect(Array.from(quantizePerChannel(wt, [2, 3], 0, 'uint8').zeroPoints)).toEqual([128, 128]);
    expect(quantizePerTensor(wt, 'uint8').params.zeroPoint).not.toBe(128); // per-tensor uint8 weights stay asymmetric
    expect(quantizePerTensor(wt, 'int8').params.zeroPoint).toBe(0);
  });
  it('rejects an out-of-range axis and a shape that does not match the data in one line', () => {
    // axis 2 on a rank-2 weight
    expect(() => quantizePerChannel(new Float32Array(6), [2, 3], 2, 'int8')).toThrow(/^per-channel axis 2 is out of range for a weight of shape \[2, 3\]$/);
    // 5 values for a [2, 3] shape
    expect(() => quantizePerChannel(new Float32Array(5), [2, 3], 0, 'int8')).toThrow(/^weight has 5 values but shape \[2, 3\] needs 6$/);
  });
});

describe('sqnrDb', () => {
  it('is 10 log10(signal / noise), Infinity when equal, and rejects different lengths', () => {
    expect(sqnrDb([1, 2, 3], [1, 2, 3])).toBe(Infinity);
    expect(sqnrDb([3, 4], [3, 3])).toBeCloseTo(10 * Math.log10(25), 12);
    expect(sqnrDb([0, 0], [0, 1])).toBe(-Infinity);
    expect(() => sqnrDb([1, 2], [1])).toThrow(/^SQNR needs arrays of the same length: reference has 2, test has 1$/);
  });
});
