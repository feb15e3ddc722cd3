import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { farFrom, rangeTolerance, ulpF32, zeroPointsAgree } from '../../../../test/quantize/tolerance.js';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { readModel } from '../onnx/io.js';
import { makeTensor } from '../onnx/tensor.js';
import { computeQParams } from '../numerics/qparams.js';
import type { Model } from '../onnx/types.js';
import { loadCalibrationSamples } from './data.js';
import { calibrate, type CalibrateOptions } from './run.js';
import type { CalibrationSample, TensorRange } from './types.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));

// onnxruntime 1.30's calibrators on deepjscc-r12-snr7-enc with the 20 CIFAR-10 samples
// (fixtures/calib/make_zoo_reference.py; the samples are the committed pixels of models/samples/cifar10-test).
interface Reference {
  model: string;
  samples: number;
  configs: { name: string; perSample: boolean; options: Record<string, number | boolean>; ranges: Record<string, [number, number]> }[];
}
const reference = JSON.parse(readFileSync(root('toolkit/quantize/fixtures/calib/zoo-reference.json'), 'utf8')) as Reference;

/** onnxruntime's option names to ours. */
function optionsOf(name: string, o: Record<string, number | boolean>): CalibrateOptions {
  const method = name.startsWith('minmax') ? 'minmax' : name.startsWith('entropy') ? 'entropy' : 'percentile';
  const out: CalibrateOptions = { method };
  if (o.symmetric !== undefined) out.symmetric = o.symmetric as boolean;
  if (o.moving_average !== undefined) out.movingAverage = o.moving_average as boolean;
  if (o.num_bins !== undefined) out.numBins = o.num_bins as number;
  if (o.percentile !== undefined) out.percentile = o.percentile as number;
  return out;
}

function* oneShot(samples: CalibrationSample[]): Generator<CalibrationSample> {
  yield* samples; // a generator is read once: histograms grow per sample, as onnxruntime's per-batch collect
}

let model: Model;
let samples: CalibrationSample[];
beforeAll(async () => {
  model = await readModel(root(`models/zoo/${reference.model}/model.onnx`));
  samples = await loadCalibrationSamples(root('models/samples/cifar10-test'), model);
});

/**
 * How far a range computed here may be from onnxruntime's reference (made on an AVX2 machine; see
 * test/quantize/tolerance.ts for why ranges move between CPUs). Every bound is a value of the
 * activation, or a histogram edge placed from them: KERNEL_ULPS of the tensor's magnitude for the values
 * themselves, and where a histogram picks the bound, one bin width more, since a value a few ULPs off can
 * land in the next bin and move a percentile or an entropy threshold by one bin. The moving average is a
 * mean of per-sample bounds, each within the same ULPs: the mean stays within them (its float32 sum is
 * computed here, in the same order, from the moved values).
 */
function toleranceFor(cfg: Reference['configs'][number], name: string, minmax: Record<string, [number, number]>): number {
  const [mlo, mhi] = minmax[name]!;
  const magnitude = Math.max(Math.abs(mlo), Math.abs(mhi)); // T, the largest |x|: the histograms span it
  const o = optionsOf(cfg.name, cfg.options);
  const bins = o.numBins ?? (o.method === 'percentile' ? 2048 : 128);
  const histogram = o.method === 'percentile' || (o.method === 'entropy' && Math.floor(bins / 2) !== 64);
  const absolute = o.method === 'percentile' && o.symmetric !== false; // histogram of |x| over [0, T]
  return rangeTolerance(magnitude, { binWidth: histogram ? ((absolute ? 1 : 2) * magnitude) / bins : 0 });
}

describe(`calibration on ${reference.model} with ${reference.samples} CIFAR-10 samples matches onnxruntime's calibrators`, () => {
  const minmax = reference.configs.find((c) => c.name === 'minmax')!.ranges;
  for (const cfg of reference.configs) {
    it(`${cfg.name}${cfg.perSample ? ', one sample per collect call' : ''}`, async () => {
      const names = Object.keys(cfg.ranges);
      const opts = optionsOf(cfg.name, cfg.options);
      const ranges = await calibrate(model, cfg.perSample ? oneShot(samples) : samples, names, opts);
      expect(ranges.size).toBe(names.length);
      let worst = 0;
      const misses: string[] = [];
      for (const [name, [lo, hi]] of Object.entries(cfg.ranges)) {
        const r = ranges.get(name)!;
        if (!cfg.perSample) {
          // the same histograms and search as onnxruntime, on activations this CPU computed
          const tol = toleranceFor(cfg, name, minmax);
          misses.push(...[farFrom(`${name} min`, r.min, lo, tol), farFrom(`${name} max`, r.max, hi, tol)].filter((m) => m !== undefined));
          continue;
        }
        // per sample, percentile keeps the |x| values below the first sample's range (onnxruntime drops
        // them) and entropy merges bins past 8192: close, not equal
        const span = Math.max(hi - lo, 1e-6);
        worst = Math.max(worst, Math.abs(r.min - lo) / span, Math.abs(r.max - hi) / span);
      }
      expect(misses).toEqual([]);
      expect(worst).toBeLessThan(0.05);
    }, 60_000);
  }

  it('the uint8 scales and zero points of those ranges agree with those of the reference: scale within the range tolerance, zero point within 1', async () => {
    const names = Object.keys(minmax);
    const ranges = await calibrate(model, samples, names, { method: 'minmax' });
    const misses: string[] = [];
    for (const [name, [lo, hi]] of Object.entries(minmax)) {
      const r = ranges.get(name)!;
      const want = computeQParams(lo, hi, 'uint8');
      const got = computeQParams(r.min, r.max, 'uint8');
      // scale = (max(hi, 0) - min(lo, 0)) / 255: each bound within tol moves it by at most 2 tol / 255,
      // plus the rounding of the float32 scale itself (one ULP of it)
      const tol = (2 * rangeTolerance(Math.max(Math.abs(lo), Math.abs(hi)))) / 255 + ulpF32(want.scale);
      const m = farFrom(`${name} scale`, got.scale, want.scale, tol);
      if (m) misses.push(m);
      if (!zeroPointsAgree(got.zeroPoint, want.zeroPoint)) misses.push(`${name} zero point: got ${got.zeroPoint}, want ${want.zeroPoint} ± 1`);
    }
    expect(misses).toEqual([]);
  }, 60_000);

  it("entropy with onnxruntime's defaults (128 bins, 128 quantized bins) is MinMax: one candidate threshold", () => {
    // both tables are onnxruntime's, from one run on one machine: equal there by construction
    const en = reference.configs.find((c) => c.name === 'entropy' && !c.perSample)!.ranges;
    expect(en).toEqual(minmax);
  });
});

describe('calibrate runs sample by sample', () => {
  it('reports progress (two passes count twice for histograms) and takes async iterables', async () => {
    const seen: [number, number | undefined][] = [];
    const names = ['/enc/convs.0/Conv_output_0'];
    const a = await calibrate(model, samples.slice(0, 3), names, { method: 'percentile', onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6].map((d) => [d, 6]));
    async function* stream(): AsyncGenerator<CalibrationSample> {
      for (const s of samples.slice(0, 3)) yield await Promise.resolve(s);
    }
    const b = await calibrate(model, stream(), names, { method: 'minmax', onProgress: (d, t) => seen.push([d, t]) });
    expect(seen.at(-1)).toEqual([3, undefined]);
    expect(a.get(names[0]!)!.max).toBeLessThanOrEqual(b.get(names[0]!)!.max);
    // a graph input can be calibrated too: its values come from the samples
    const img = await calibrate(model, samples, ['image'], { method: 'minmax' });
    expect(img.get('image')!.min).toBeGreaterThanOrEqual(0);
    expect(img.get('image')!.max).toBeLessThanOrEqual(1);
  });
});

/** x [N, 4] -> Reshape to [3] (fails at run time: 4 values do not make 3) -> y. */
function failingModel(opType = 'Reshape'): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: [makeNode('Relu', ['x'], ['r'], 'relu'), makeNode(opType, ['r', 'shape'], ['y'], 'reshape')],
      initializer: [makeTensor('shape', 7, [1], BigInt64Array.from([3n]))],
      sparseInitializer: [],
      input: [makeValueInfo('x', 1, ['N', 4])],
      output: [makeValueInfo('y', 1, undefined)],
      valueInfo: [],
      quantizationAnnotation: [],
    },
    metadataProps: [],
    functions: [],
  };
}

/** x [N, 4] -> q = a / x (a default [1, 1, 0, 1]) -> Neg -> y: 1 / 0 is Infinity, 0 / 0 is NaN. */
function divByZeroModel(a = [1, 1, 0, 1]): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: [makeNode('Div', ['a', 'x'], ['q'], 'div'), makeNode('Neg', ['q'], ['y'], 'neg')],
      initializer: [makeTensor('a', 1, [4], Float32Array.from(a))],
      sparseInitializer: [],
      input: [makeValueInfo('x', 1, ['N', 4])],
      output: [makeValueInfo('y', 1, ['N', 4])],
      valueInfo: [],
      quantizationAnnotation: [],
    },
    metadataProps: [],
    functions: [],
  };
}

describe('calibrate refuses bad input in one line', () => {
  const message = async (p: Promise<Map<string, TensorRange>>): Promise<string> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e, 'expected a rejection').toBeInstanceOf(Error);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  };
  const t = '/enc/convs.0/Conv_output_0';
  const img = (dims: number[], type: 'float32' | 'float64' = 'float32'): ort.Tensor =>
    type === 'float32' ? new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) : new ort.Tensor('float64', new Float64Array(dims.reduce((a, b) => a * b, 1)), dims);

  it('a sample of the wrong shape, type or input name', async () => {
    // a 64x64 image for a 32x32 input
    expect(await message(calibrate(model, [samples[0]!, { image: img([1, 3, 64, 64]) }], [t], { method: 'minmax' }))).toBe(
      "calibration sample 1: input 'image' expects float32 [N, 3, 32, 32], got float32 [1, 3, 64, 64]",
    );
    // float64 data
    expect(await message(calibrate(model, [{ image: img([1, 3, 32, 32], 'float64') }], [t], { method: 'minmax' }))).toBe(
      "calibration sample 0: input 'image' expects float32 [N, 3, 32, 32], got float64 [1, 3, 32, 32]",
    );
    // the input under another name
    expect(await message(calibrate(model, [{ picture: img([1, 3, 32, 32]) }], [t], { method: 'entropy' }))).toBe(
      "calibration sample 0: the model has no input 'picture' (its inputs: image)",
    );
    // no sample at all
    expect(await message(calibrate(model, [], [t], { method: 'minmax' }))).toBe('no calibration samples: at least one is needed');
  });

  it('a tensor the model does not have, or a constant', async () => {
    expect(await message(calibrate(model, samples, ['nope'], { method: 'minmax' }))).toBe("tensor 'nope' is not produced by any node of the model");
    const init = model.graph.initializer.find((i) => i.dataType === 1)!.name;
    expect(await message(calibrate(model, samples, [init], { method: 'minmax' }))).toBe(`tensor '${init}' is an initializer (a constant), not an activation to calibrate`);
  });

  const row = (...v: number[]): CalibrationSample => ({ x: new ort.Tensor('float32', Float32Array.from(v), [1, v.length]) });

  it('a sample holding NaN or Infinity', async () => {
    const m = divByZeroModel();
    expect(await message(calibrate(m, [row(1, 2, 4, 4), row(1, 2, 3, NaN)], ['y'], { method: 'minmax' }))).toBe(
      "calibration sample 1: input 'x' holds NaN at flat index 3 (1 of 4 values are not finite): calibration data must be finite numbers",
    );
    expect(await message(calibrate(m, [row(-Infinity, 2, 3, 4)], ['y'], { method: 'percentile' }))).toMatch(/^calibration sample 0: input 'x' holds -Infinity at flat index 0/);
  });

  it("a graph whose Div makes 1 / 0 = ±Infinity, or 0 / 0 = NaN in the middle of a tensor (where onnxruntime's ReduceMin and ReduceMax skip it)", async () => {
    const m = divByZeroModel();
    const text = (sample: number, value: string, tensor = "'q' (output of Div node 'div')", more = ', then in 1 more calibrated tensor'): string =>
      `calibration sample ${sample}: the model computes ${value} in ${tensor} from finite inputs${more}: cannot calibrate a non-finite activation`;
    const ones = row(1, 1, 1, 1);
    // the first tensor in graph order is named, wherever it sits in the list asked for
    expect(await message(calibrate(m, [ones, row(1, 0, 1, 1)], ['y', 'q'], { method: 'minmax' }))).toBe(text(1, 'Infinity'));
    expect(await message(calibrate(m, [row(1, 1, 1, -0)], ['y', 'q'], { method: 'minmax' }))).toBe(text(0, '-Infinity'));
    expect(await message(calibrate(m, [ones, row(1, 1, 0, 1)], ['y', 'q'], { method: 'minmax' }))).toBe(text(1, 'NaN'));
    // two passes (percentile) and one pass over the values themselves (an async iterable)
    expect(await message(calibrate(m, [ones, row(1, 1, 0, 1)], ['y'], { method: 'percentile' }))).toBe(text(1, 'NaN', "'y' (output of Neg node 'neg')", ''));
    async function* stream(): AsyncGenerator<CalibrationSample> {
      yield await Promise.resolve(ones);
      yield await Promise.resolve(row(1, 1, 0, 1));
    }
    expect(await message(calibrate(m, stream(), ['q', 'y'], { method: 'entropy' }))).toBe(text(1, 'NaN'));
  });

  it('a sum of finite values that overflows float32 is not mistaken for a non-finite tensor', async () => {
    // q = 1e38 four times sums past float32's 3.4e38: ReduceSum gives Infinity, the values are looked at, all finite
    const r = await calibrate(divByZeroModel([1e38, 1e38, 1e38, 1e38]), [row(1, 1, 1, 1)], ['q'], { method: 'minmax' });
    expect(r.get('q')).toEqual({ min: Math.fround(1e38), max: Math.fround(1e38) }); // exact: a / 1, no rounding
  });

  it('a model that fails to run or to load', async () => {
    const x = { x: new ort.Tensor('float32', Float32Array.from([1, -2, 3, -4]), [1, 4]) };
    expect(await message(calibrate(failingModel(), [x], ['r', 'y'], { method: 'minmax' }))).toMatch(/^the model failed to run on calibration sample 0: .*Reshape/);
    expect(await message(calibrate(failingModel('NoSuchOp'), [x], ['r'], { method: 'minmax' }))).toMatch(/^onnxruntime cannot load the model for calibration: .*NoSuchOp/);
  });
});
