/**
 * QDQ quantization through onnxruntime-node: the fixture CNNs (opsets 13 and 21, an opset-11 model
 * to upgrade and one that cannot be), and the Deep JSCC encoders and decoders of rate 1/12 with
 * MinMax ranges from CIFAR-10 test images.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { calibrate, loadCalibrationSamples, type CalibrationSample, type TensorRange } from '../calibrate/index.js';
import { sqnrDb } from '../numerics/sqnr.js';
import { UnsupportedModelError } from '../onnx/errors.js';
import { ortThreadOptions } from '@akb/jscc';
import { decodeModel, encodeModel } from '../onnx/io.js';
import { makeTensor, tensorToFloat32 } from '../onnx/tensor.js';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { DataType, type Model, type Node } from '../onnx/types.js';
import { quantizeQdq, tensorsToCalibrate, type QdqOptions } from './index.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));
const fixture = (name: string): Promise<Model> => readFile(root(`toolkit/quantize/fixtures/qdq/${name}`)).then((b) => decodeModel(new Uint8Array(b)));
const zoo = (name: string): Promise<Model> => readFile(root(`models/zoo/${name}/model.onnx`)).then((b) => decodeModel(new Uint8Array(b)));

const U8S8: QdqOptions = { activationType: 'uint8', weightType: 'int8', perChannel: true };

/** Deterministic uniform [0, 1) inputs of shape `dims`. */
function uniform(dims: number[], seed: number): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32;
  }
  return new ort.Tensor('float32', data, dims);
}

/**
 * Runs a model on the CPU. `exact` turns graph optimization off, so Q/DQ pairs compute exactly what
 * the ONNX spec says; with it on, onnxruntime fuses them into integer kernels whose results depend on
 * the CPU (on x64 without VNNI its u8s8 kernels saturate: see the report).
 */
async function run(model: Model, feeds: CalibrationSample, exact = false): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: exact ? 'disabled' : 'all', ...ortThreadOptions() });
  const out = await session.run(feeds);
  const result: Record<string, Float32Array> = {};
  for (const name of session.outputNames) result[name] = out[name]!.data as Float32Array;
  return result;
}

/**
 * Calibrates (MinMax) and quantizes; returns the result and the output SQNR (dB) of every output on
 * `test` with exact Q/DQ arithmetic. The quantized model must also load and run with onnxruntime's
 * optimizations (fused integer kernels) and give finite outputs.
 */
async function quantizeAndCompare(model: Model, samples: CalibrationSample[], test: CalibrationSample, opts: QdqOptions) {
  const ranges = await calibrate(model, samples, tensorsToCalibrate(model, opts), { method: 'minmax' });
  const result = quantizeQdq(model, ranges, opts);
  const ref = await run(model, test, true);
  const got = await run(result.model, test, true);
  const fused = await run(result.model, test);
  for (const v of Object.values(fused)) expect(v.every((x) => Number.isFinite(x))).toBe(true);
  const sqnr = Object.fromEntries(Object.keys(ref).map((k) => [k, sqnrDb(ref[k]!, got[k]!)]));
  return { result, ranges, sqnr };
}

const byOutput = (m: Model, t: string): Node | undefined => m.graph.node.find((n) => n.output.includes(t));
const consumers = (m: Model, t: string): Node[] => m.graph.node.filter((n) => n.input.includes(t));
const init = (m: Model, name: string) => m.graph.initializer.find((t) => t.name === name);
const axisOf = (n: Node): number | undefined => n.attribute.find((a) => a.name === 'axis')?.i;

describe('quantizeQdq on the fixture CNN', () => {
  const tinySamples = Array.from({ length: 8 }, (_, i) => ({ x: uniform([2, 3, 8, 8], i + 1) }));
  const tinyTest = { x: uniform([4, 3, 8, 8], 99) };

  for (const file of ['tiny-cnn-opset13.onnx', 'tiny-cnn-opset21.onnx']) {
    it(`${file}: U8S8 per channel runs, keeps output names, and stays close to float`, async () => {
      const model = await fixture(file);
      const { result, sqnr } = await quantizeAndCompare(model, tinySamples, tinyTest, U8S8);
      const m = result.model;
      expect(m.graph.output.map((o) => o.name)).toEqual(['y', 'feat']);
      expect(byOutput(m, 'y')?.opType).toBe('DequantizeLinear');
      expect(byOutput(m, 'feat')?.opType).toBe('DequantizeLinear');
      expect(sqnr.y).toBeGreaterThan(25);
      expect(sqnr.feat).toBeGreaterThan(30);
      // Relu and Clip(0, 6) are fused into their producers; Tanh has no int8 rule.
      expect(m.graph.node.some((n) => n.opType === 'Relu' || n.opType === 'Clip')).toBe(false);
      expect(result.skipped).toContainEqual({ node: 'tanh', opType: 'Tanh', reason: 'no int8 rule for Tanh; it runs in float' });
      expect(result.quantizedNodes).toEqual(expect.arrayContaining(['conv1', 'relu1', 'pool1', 'deconv', 'clip', 'conv2', 'flatten', 'fc', 'fc_bias']));
      // Weights are stored int8 behind one DequantizeLinear; no float weight is left.
      for (const w of ['c1.w', 'ct.w', 'c2.w', 'fc.w']) expect(init(m, w)).toBeUndefined();
      expect(init(m, 'c1.w_quantized')?.dataType).toBe(DataType.INT8);
      // The int32 biases.
      expect(init(m, 'c1.b_quantized')?.dataType).toBe(DataType.INT32);
      expect(init(m, 'ct.b_quantized')?.dataType).toBe(DataType.INT32);
    });
  }

  it('puts ConvTranspose weights per channel on axis 1 and repeats the scales for group 2 in the bias', async () => {
    const model = await fixture('tiny-cnn-opset13.onnx');
    const { result } = await quantizeAndCompare(model, tinySamples, tinyTest, U8S8);
    const m = result.model;
    const deconv = m.graph.node.find((n) => n.name === 'deconv')!;
    const wDq = byOutput(m, deconv.input[1]!)!;
    expect(wDq.opType).toBe('DequantizeLinear');
    expect(axisOf(wDq)).toBe(1);
    const wScale = tensorToFloat32(init(m, wDq.input[1]!)!);
    expect(wScale.length).toBe(4); // ct.w is [8, 4, 2, 2]: Cout/group = 4 channels on axis 1
    const bDq = byOutput(m, deconv.input[2]!)!;
    const bScale = tensorToFloat32(init(m, bDq.input[1]!)!);
    const inScale = tensorToFloat32(init(m, byOutput(m, deconv.input[0]!)!.input[1]!)!)[0]!;
    expect(bScale.length).toBe(8);
    for (let o = 0; o < 8; o++) expect(bScale[o]).toBeCloseTo(Math.fround(inScale * wScale[o % 4]!), 12);
    // Conv weights on axis 0, MatMul [256, 10] on axis 1.
    const conv1 = m.graph.node.find((n) => n.name === 'conv1')!;
    expect(axisOf(byOutput(m, conv1.input[1]!)!)).toBe(0);
    const fc = m.graph.node.find((n) => n.name === 'fc')!;
    expect(axisOf(byOutput(m, fc.input[1]!)!)).toBe(1);
  });

  it('S8S8 (int8 activations) runs and stays close to float', async () => {
    const model = await fixture('tiny-cnn-opset21.onnx');
    const { result, sqnr } = await quantizeAndCompare(model, tinySamples, tinyTest, { activationType: 'int8', weightType: 'int8', perChannel: true });
    expect(sqnr.y).toBeGreaterThan(25);
    const zpTypes = result.model.graph.node.filter((n) => n.opType === 'QuantizeLinear').map((n) => init(result.model, n.input[2]!)?.dataType);
    expect(new Set(zpTypes)).toEqual(new Set([DataType.INT8]));
  });

  it('TensorRT mode: zero points 0, symmetric int8, one Q/DQ pair per consumer, float weights and biases', async () => {
    const model = await fixture('tiny-cnn-opset13.onnx');
    const { result, sqnr } = await quantizeAndCompare(model, tinySamples, tinyTest, { ...U8S8, tensorRt: true });
    const m = result.model;
    expect(sqnr.y).toBeGreaterThan(20);
    const qdq = m.graph.node.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
    expect(qdq.length).toBeGreaterThan(0);
    for (const n of qdq) {
      const zp = init(m, n.input[2]!)!;
      expect(zp.dataType).toBe(DataType.INT8);
      expect(Array.from(tensorToFloat32(zp)).every((v) => v === 0)).toBe(true);
      expect(Array.from(tensorToFloat32(init(m, n.input[1]!)!)).every((v) => v > 0)).toBe(true);
      if (n.opType === 'QuantizeLinear') {
        // each Q feeds exactly one DQ, and each activation DQ feeds at most one node
        const next = consumers(m, n.output[0]!);
        expect(next.map((c) => c.opType)).toEqual(['DequantizeLinear']);
        expect(consumers(m, next[0]!.output[0]!).length).toBeLessThanOrEqual(1);
      }
    }
    expect(m.graph.initializer.some((t) => t.dataType === DataType.INT32)).toBe(false);
    expect(init(m, 'c1.w')?.dataType).toBe(DataType.FLOAT);
    // The Clip output `feat` feeds Tanh and is a graph output; the Clip is kept (symmetric) and Tanh is float.
    expect(m.graph.node.some((n) => n.name === 'clip')).toBe(true);
  });

  it('keeps excluded nodes and op types in float', async () => {
    const model = await fixture('tiny-cnn-opset13.onnx');
    const opts = { ...U8S8, excludeNodes: ['conv2'], excludeOpTypes: ['MatMul'] };
    const { result, sqnr } = await quantizeAndCompare(model, tinySamples, tinyTest, opts);
    const m = result.model;
    expect(sqnr.y).toBeGreaterThan(25);
    const conv2 = m.graph.node.find((n) => n.name === 'conv2')!;
    expect(conv2.input[1]).toBe('c2.w');
    expect(init(m, 'c2.w')?.dataType).toBe(DataType.FLOAT);
    expect(m.graph.node.find((n) => n.name === 'fc')!.input[1]).toBe('fc.w');
    expect(result.skipped).toContainEqual({ node: 'conv2', opType: 'Conv', reason: 'excluded by name' });
    expect(result.skipped).toContainEqual({ node: 'fc', opType: 'MatMul', reason: 'op type MatMul excluded' });
    expect(result.quantizedNodes).not.toContain('conv2');
  });

  it('tensorsToCalibrate lists exactly the ranges the rewrite needs', async () => {
    const model = await fixture('tiny-cnn-opset13.onnx');
    const tensors = tensorsToCalibrate(model, U8S8);
    // Relu/Clip inputs take their output's range; MaxPool and Flatten reuse their input's parameters.
    expect(tensors).toEqual(expect.arrayContaining(['x', 'r1', 'feat', 't', 'c2', 'mm', 'y']));
    expect(tensors).not.toContain('c1');
    expect(tensors).not.toContain('p1');
    expect(tensors).not.toContain('f');
    const ranges = await calibrate(model, tinySamples, tensors, { method: 'minmax' });
    expect(() => quantizeQdq(model, ranges, U8S8)).not.toThrow();
    for (const t of tensors) {
      const fewer = new Map([...ranges].filter(([k]) => k !== t));
      expect(() => quantizeQdq(model, fewer, U8S8)).toThrow(`no calibrated range for tensor '${t}'`);
    }
  });

  it('refuses a calibrated range that is not finite, naming the tensor in one line', async () => {
    // The range of the input x as a calibrator would report it after a NaN in the data.
    const model = await fixture('tiny-cnn-opset13.onnx');
    const ranges = await calibrate(model, tinySamples, tensorsToCalibrate(model, U8S8), { method: 'minmax' });
    ranges.set('x', { min: NaN, max: 1 });
    expect(() => quantizeQdq(model, ranges, U8S8)).toThrow(/^tensor 'x': cannot quantize the range \[NaN, 1\]: bounds must be finite numbers$/);
  });

  it('does not modify the input model', async () => {
    const model = await fixture('tiny-cnn-opset13.onnx');
    const before = encodeModel(model);
    const ranges = await calibrate(model, tinySamples, tensorsToCalibrate(model, U8S8), { method: 'minmax' });
    quantizeQdq(model, ranges, U8S8);
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(before))).toBe(true);
  });
});

describe('int32 bias overflow', () => {
  it('raises the weight scale when input_scale * weight_scale would push the bias past int32', async () => {
    // y = Conv(x, w, b) with tiny weights (|w| <= 1e-6) and a large bias (5e4): with the plain scales
    // (1/255 * 1e-6/127) the bias would be about 1.6e15 quanta, far beyond int32.
    const w = Float32Array.from({ length: 4 * 2 }, (_, i) => (i % 2 ? 1 : -1) * 1e-6 * (1 + i / 8));
    const model: Model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      metadataProps: [],
      functions: [],
      graph: {
        name: 'bias',
        node: [makeNode('Conv', ['x', 'w', 'b'], ['y'], 'conv', { kernel_shape: [1, 1] })],
        initializer: [makeTensor('w', DataType.FLOAT, [4, 2, 1, 1], w), makeTensor('b', DataType.FLOAT, [4], Float32Array.of(5e4, -5e4, 1, 0))],
        sparseInitializer: [],
        input: [makeValueInfo('x', DataType.FLOAT, ['N', 2, 4, 4])],
        output: [makeValueInfo('y', DataType.FLOAT, ['N', 4, 4, 4])],
        valueInfo: [],
        quantizationAnnotation: [],
      },
    };
    const samples = [{ x: uniform([2, 2, 4, 4], 1) }, { x: uniform([2, 2, 4, 4], 2) }];
    const { result, sqnr } = await quantizeAndCompare(model, samples, { x: uniform([3, 2, 4, 4], 3) }, U8S8);
    const q = tensorToFloat32(init(result.model, 'b_quantized')!);
    expect(Math.max(...q.map(Math.abs))).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(Math.max(...q.map(Math.abs))).toBeGreaterThan(2 ** 30); // the scale was raised just enough
    expect(sqnr.y).toBeGreaterThan(40); // a clipped bias (0.07 instead of 5e4) would give about 0 dB
  });
});

describe('opsets below 13', () => {
  it('raises an opset-11 model to 13 (Squeeze axes become an input) and folds Gemm alpha/beta into the bias', async () => {
    const model = await fixture('squeeze-opset11.onnx');
    const samples = Array.from({ length: 6 }, (_, i) => ({ x: uniform([2, 3, 8, 8], 40 + i) }));
    const { result, sqnr } = await quantizeAndCompare(model, samples, { x: uniform([4, 3, 8, 8], 7) }, U8S8);
    expect(result.model.opsetImport.find((o) => o.domain === '')?.version).toBe(13);
    const squeeze = result.model.graph.node.find((n) => n.name === 'squeeze')!;
    expect(squeeze.attribute.length).toBe(0);
    expect(squeeze.input.length).toBe(2);
    expect(result.skipped).toContainEqual({ node: 'mean', opType: 'ReduceMean', reason: 'no int8 rule for ReduceMean; it runs in float' });
    expect(sqnr.y).toBeGreaterThan(25);
  });

  it('refuses per channel on a model that cannot be raised to 13, with a one-line UnsupportedModelError', async () => {
    // softmax-opset11.onnx: Softmax(axis=1) on a rank-3 tensor, whose meaning changed at opset 13.
    const model = await fixture('softmax-opset11.onnx');
    const call = (): unknown => tensorsToCalibrate(model, U8S8);
    expect(call).toThrow(UnsupportedModelError);
    expect(call).toThrow(/^cannot upgrade the model from opset 11 to 13: 'softmax' \(Softmax\) works along axis 1/);
    try {
      call();
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('quantizes the same model per tensor at its own opset 11', async () => {
    const model = await fixture('softmax-opset11.onnx');
    const samples = Array.from({ length: 4 }, (_, i) => ({ x: uniform([2, 3, 4], 60 + i) }));
    const opts = { ...U8S8, perChannel: false };
    const { result, sqnr } = await quantizeAndCompare(model, samples, { x: uniform([3, 3, 4], 5) }, opts);
    expect(result.model.opsetImport.find((o) => o.domain === '')?.version).toBe(11);
    expect(sqnr.y).toBeGreaterThan(25);
  });

  it('refuses a model without an ai.onnx opset import', async () => {
    // The fixture with its opset import replaced by a custom domain only.
    const model = await fixture('tiny-cnn-opset13.onnx');
    const foreign = { ...model, opsetImport: [{ domain: 'com.example', version: 1 }] };
    expect(() => tensorsToCalibrate(foreign, U8S8)).toThrow(new UnsupportedModelError('the model imports no ai.onnx opset, so it has no standard ops to quantize'));
  });

  it('rejects an unknown quantization type with a one-line TypeError', async () => {
    const model = await fixture('tiny-cnn-opset13.onnx');
    const bad = { ...U8S8, activationType: 'int4' } as unknown as QdqOptions;
    expect(() => tensorsToCalibrate(model, bad)).toThrow(`activationType must be 'int8' or 'uint8', got "int4"`);
  });
});

describe('Deep JSCC models of rate 1/12', () => {
  const encoders = ['snr1', 'snr4', 'snr7', 'snr13', 'snr19', 'adaptive'].map((s) => `deepjscc-r12-${s}-enc`);
  let images: CalibrationSample[] | undefined;
  /** The CIFAR-10 test images as [1, 3, 32, 32] samples (loaded for the single-input snr1 encoder). */
  const cifar = async (): Promise<CalibrationSample[]> => {
    const loaded = images ?? (await loadCalibrationSamples(root('models/samples/cifar10-test'), await zoo('deepjscc-r12-snr1-enc')));
    images = loaded;
    return loaded;
  };
  /** Feeds for a model: the image batch, plus snr_db = 10 for the adaptive models. */
  const feedsFor = (model: Model, sample: CalibrationSample): CalibrationSample => {
    const feeds: CalibrationSample = { ...sample };
    const n = sample.image?.dims[0] ?? sample.latent?.dims[0] ?? 1;
    if (model.graph.input.some((i) => i.name === 'snr_db')) feeds.snr_db = new ort.Tensor('float32', new Float32Array(n).fill(10), [n, 1]);
    return feeds;
  };
  const batch = (samples: CalibrationSample[], name: string): ort.Tensor => {
    const parts = samples.map((s) => s[name]!);
    const per = parts[0]!.data.length;
    const data = new Float32Array(per * parts.length);
    parts.forEach((p, i) => data.set(p.data as Float32Array, i * per));
    return new ort.Tensor('float32', data, [parts.length * parts[0]!.dims[0]!, ...parts[0]!.dims.slice(1)]);
  };

  for (const enc of encoders) {
    const dec = enc.replace(/-enc$/, '-dec');
    it(`${enc} and ${dec}: U8S8 per channel, output SQNR above 20 dB (encoder) and 25 dB (decoder)`, async () => {
      const encoder = await zoo(enc);
      const decoder = await zoo(dec);
      const imgs = await cifar();
      const calib = imgs.slice(0, 14).map((s) => feedsFor(encoder, s));
      const test = feedsFor(encoder, { image: batch(imgs.slice(14), 'image') });
      const e = await quantizeAndCompare(encoder, calib, test, U8S8);
      expect(e.sqnr.latent).toBeGreaterThan(20);
      // Decoder calibration inputs: the float encoder's latents of the calibration images.
      const decCalib: CalibrationSample[] = [];
      for (const s of calib) {
        const latent = (await run(encoder, s)).latent!;
        const rows = s.image!.dims[0]!;
        decCalib.push(feedsFor(decoder, { latent: new ort.Tensor('float32', latent, [rows, latent.length / rows]) }));
      }
      const testLatent = (await run(encoder, test)).latent!;
      const n = test.image!.dims[0]!;
      const d = await quantizeAndCompare(decoder, decCalib, feedsFor(decoder, { latent: new ort.Tensor('float32', testLatent, [n, testLatent.length / n]) }), U8S8);
      expect(d.sqnr.image).toBeGreaterThan(25);
      // Every ConvTranspose weight is per channel on axis 1, one scale per output channel.
      const m = d.result.model;
      const deconvs = m.graph.node.filter((x) => x.opType === 'ConvTranspose');
      expect(deconvs.length).toBe(5);
      for (const c of deconvs) {
        const dq = byOutput(m, c.input[1]!)!;
        expect(dq.opType).toBe('DequantizeLinear');
        expect(axisOf(dq)).toBe(1);
        expect(tensorToFloat32(init(m, dq.input[1]!)!).length).toBe(init(m, dq.input[0]!)!.dims[1]);
      }
      // PRelu has no int8 rule and is reported.
      expect(d.result.skipped.some((s) => s.opType === 'PRelu' && s.reason.startsWith('no int8 rule'))).toBe(true);
    }, 120_000);
  }

  it('an activation takes its parameters from its range: [0, 1] in uint8 is scale 1/255, zero point 0', async () => {
    const encoder = await zoo('deepjscc-r12-snr1-enc');
    const tensors = tensorsToCalibrate(encoder, U8S8);
    expect(tensors).toContain('image');
    const ranges = new Map<string, TensorRange>(tensors.map((t) => [t, { min: -1, max: 1 }]));
    ranges.set('image', { min: 0, max: 1 });
    const m = quantizeQdq(encoder, ranges, U8S8).model;
    const q = m.graph.node.find((n) => n.opType === 'QuantizeLinear' && n.input[0] === 'image')!;
    expect(tensorToFloat32(init(m, q.input[1]!)!)[0]).toBe(Math.fround(1 / 255));
    expect(tensorToFloat32(init(m, q.input[2]!)!)[0]).toBe(0);
  });
});
