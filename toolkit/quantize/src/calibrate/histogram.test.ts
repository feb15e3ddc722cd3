import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveCalibrationOptions, TensorCollector, type CalibrationMethod } from './collector.js';
import { entropyRange } from './entropy.js';
import { floorDivF32, linspaceF32, pairwiseSumF32 } from './f32.js';
import { AbsHistogram, ENTROPY_MAX_BINS, ValueHistogram } from './histogram.js';

// Reference numbers from onnxruntime 1.30's HistogramCollector (fixtures/calib/make_histogram_fixture.py).
type BatchSpec = [seed: number, n: number, scale: number, shift: number, relu: boolean, tail: number];
interface Case {
  set: string;
  perBatch: boolean;
  method: CalibrationMethod;
  symmetric: boolean;
  numBins: number;
  numQuantizedBins: number;
  percentile: number;
  min: number;
  max: number;
  bins: number;
  total: number;
  countsDigest: number;
  edgeSample: number[];
}
const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../fixtures/calib/histogram.json', import.meta.url)), 'utf8')) as {
  sets: Record<string, BatchSpec[]>;
  cases: Case[];
};

/** The fixture script's generator: 32-bit LCG, sums of four uniforms (exact double arithmetic). */
function gen([seed, n, scale, shift, relu, tail]: BatchSpec): Float32Array {
  let state = seed;
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let j = 0; j < 4; j++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      s += (state >>> 8) / 16777216;
    }
    let v = (s - 2) * scale + shift;
    if (tail && k % tail === 0) v *= 8;
    if (relu && v < 0) v = 0;
    out[k] = v;
  }
  return out;
}

function collect(c: Case): TensorCollector {
  const batches = fixture.sets[c.set]!.map(gen);
  const col = new TensorCollector('t', resolveCalibrationOptions(c));
  if (c.perBatch) {
    for (const b of batches) col.observeStreaming(b);
  } else {
    for (const b of batches) col.observeRange(b);
    col.startHistogram();
    for (const b of batches) col.observeHistogram(b);
  }
  return col;
}

describe('histogram calibration matches onnxruntime HistogramCollector', () => {
  for (const c of fixture.cases) {
    const label = `${c.method} ${c.symmetric ? 'symmetric' : 'asymmetric'} bins=${c.numBins} p=${c.percentile} on '${c.set}' ${c.perBatch ? 'per batch' : 'all at once (quantize_static)'}`;
    const pastCap = c.method === 'entropy' && c.perBatch && c.bins > ENTROPY_MAX_BINS;
    it(label, () => {
      const col = collect(c);
      if (!c.perBatch && c.method === 'entropy' && c.numBins === c.numQuantizedBins) {
        // one whole-range candidate: MinMax's range, found without a histogram pass
        expect(col.usesHistogram).toBe(false);
        expect(col.histogram).toBeUndefined();
        expect(col.result()).toEqual({ min: c.min, max: c.max });
        return;
      }
      const h = col.histogram!;
      const total = h.counts.reduce((a, b) => a + b, 0);
      if (pastCap) {
        // deliberate deviation: onnxruntime grew past the cap; bins were merged instead, no value lost
        expect(h.counts.length).toBeLessThanOrEqual(ENTROPY_MAX_BINS);
        expect(total).toBe(c.total);
        const r = col.result();
        expect(r.min).toBeGreaterThanOrEqual(h.edges[0]!);
        expect(r.max).toBeLessThanOrEqual(h.edges[h.edges.length - 1]!);
        return;
      }
      if (c.perBatch && c.method === 'percentile' && c.symmetric && total > c.total) {
        // deliberate deviation: onnxruntime dropped |x| values below its first batch's range; they are kept
        expect(total).toBe(fixture.sets[c.set]!.reduce((a, s) => a + s[1], 0));
        // and the threshold is the exact percentile of |x| to within one bin (onnxruntime's is not:
        // it lost the largest value here)
        const abs = fixture.sets[c.set]!.flatMap((s) => Array.from(gen(s), Math.abs)).sort((a, b) => a - b);
        const k = Math.ceil((c.percentile / 100) * abs.length) - 1;
        const width = h.edges[1]! - h.edges[0]!;
        const r = col.result();
        expect(r.max).toBeGreaterThanOrEqual(abs[k]! - width);
        expect(r.max).toBeLessThanOrEqual(abs[Math.min(k + 1, abs.length - 1)]!); // the float64 cdf may land one value later
        return;
      }
      expect(h.counts.length).toBe(c.bins);
      expect(total).toBe(c.total);
      expect(h.counts.reduce((a, v, i) => a + (i + 1) * v, 0)).toBe(c.countsDigest);
      const sample = [...Array.from(h.edges).filter((_, i) => i % 101 === 0), h.edges[h.edges.length - 1]];
      expect(sample).toEqual(c.edgeSample);
      expect(col.result()).toEqual({ min: c.min, max: c.max });
    });
  }
});

describe('float32 helpers', () => {
  it('sum pairwise like numpy and make numpy linspace edges', () => {
    const a = Float32Array.from({ length: 1000 }, (_, i) => 1 / (i + 1));
    let naive = 0;
    for (const v of a) naive = Math.fround(naive + v);
    expect(pairwiseSumF32(a)).not.toBe(naive); // order matters in float32: numpy's pairwise order is the one matched
    expect(Array.from(linspaceF32(-1, 1, 5))).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(floorDivF32(7, 2)).toBe(3);
    expect(floorDivF32(-7, 2)).toBe(-4);
  });
});

describe('bounded growth (better than onnxruntime)', () => {
  it('merges bins instead of growing without bound when a later batch is far wider', () => {
    const h = ValueHistogram.growing(128, 4096);
    h.collectBatch(Float32Array.from([0.001, -0.002, 0.0005]));
    h.collectBatch(Float32Array.from([50, -3, 1])); // onnxruntime would grow to ~6.4 million bins here
    expect(h.counts.length).toBeLessThanOrEqual(4096);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(6);
    expect(h.edges[h.edges.length - 1]).toBeGreaterThanOrEqual(50);
    expect(h.edges[0]).toBeLessThanOrEqual(-50);
    const zero = h.counts.length / 2; // the zero bin stays in the middle
    expect(h.edges[zero]! <= 0 && h.edges[zero + 1]! > 0).toBe(true);
  });
  it('keeps |x| values below the first batch range that onnxruntime drops', () => {
    const h = AbsHistogram.growing(16, 4096);
    h.collectBatch(Float32Array.from([1, 2, -3]));
    h.collectBatch(Float32Array.from([0.1, 5]));
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(h.edges[0]).toBeLessThanOrEqual(0.1);
  });
  it('rejects fewer histogram bins than quantized bins in one line', () => {
    // entropy with numBins 64 < numQuantizedBins 128
    expect(() => resolveCalibrationOptions({ method: 'entropy', numBins: 64 })).toThrow(/^entropy calibration needs numBins \(64\) >= numQuantizedBins \(128\)$/);
    expect(() => entropyRange(new Float64Array(64), new Float64Array(65), 0, 0, 128)).toThrow(/needs at least 128 histogram bins/);
    // a percentile of 120
    expect(() => resolveCalibrationOptions({ method: 'percentile', percentile: 120 })).toThrow(/^percentile must be between 0 and 100, got 120$/);
  });
  it('refuses infinite and NaN activations with the tensor name, as a typed error (Infinity was a RangeError, NaN was skipped)', () => {
    const col = new TensorCollector('conv1_out', resolveCalibrationOptions({ method: 'minmax' }));
    // a batch holding +Infinity, one holding NaN, and the same as reduced min/max
    expect(() => col.observeRange(Float32Array.from([1, Infinity]))).toThrow(/^tensor 'conv1_out' holds Infinity: cannot calibrate a non-finite activation$/);
    expect(() => col.observeRange(Float32Array.from([1, NaN, 2]))).toThrow(/^tensor 'conv1_out' holds NaN: cannot calibrate a non-finite activation$/);
    expect(() => col.observeRangeValues(NaN, 2, 0)).toThrow(expect.objectContaining({ code: 'NON_FINITE_ACTIVATION', exitCode: 1 }));
    expect(() => col.observeRangeValues(-Infinity, 2, 0)).toThrow(/holds -Infinity/);
    col.observeRangeValues(Infinity, -Infinity, Infinity); // a zero-sized tensor: no values, no error
    expect(col.result()).toEqual({ min: 0, max: 0 });
  });
});
