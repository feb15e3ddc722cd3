import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { corruptModel, DEC, ENC, imagesWithCorruptJpeg, modelThatDoesNotRun, npyBytes, POLICY, policyStatesNpy, tempDir, truncatedModel } from '../../../test/quantize/fixtures.js';
import { CIFAR_SAMPLES, cifarSamples, ZOO } from '../../../test/quantize/images.js';
import { quantizeModel, type QuantizeOptions } from './quantize.js';
import { formatReport, reportToJson } from './report/format.js';

const oneLine = /^[^\n]+$/;

async function runs(path: string, feeds: Record<string, ort.Tensor>): Promise<void> {
  const session = await ort.InferenceSession.create(readFileSync(path));
  const out = await session.run(feeds);
  expect(Object.keys(out).length).toBeGreaterThan(0);
}

describe('quantizeModel', () => {
  it('int8: a Deep JSCC encoder calibrated on sample images, with held-out SQNR, per-tensor SQNR, latency and PSNR through the channel', async () => {
    const output = join(tempDir('enc'), 'enc.int8.onnx');
    const r = await quantizeModel({ input: ENC, output, calib: CIFAR_SAMPLES, latencyRuns: 3, snrGrid: [1, 13] });
    expect(existsSync(output)).toBe(true);
    await runs(output, { image: new ort.Tensor('float32', new Float32Array(3072).fill(0.5), [1, 3, 32, 32]) });
    expect(r.preset).toMatchObject({ name: 'int8', activationType: 'uint8', weightType: 'int8', perChannel: true });
    expect(r.calibration).toMatchObject({ method: 'minmax', samples: 16 });
    expect(r.heldOut.samples).toBe(4);
    expect(r.heldOut.source).toMatch(/^last 4 rows of .* \(not calibrated on\)$/);
    expect(r.sizeRatio).toBeLessThan(0.35);
    expect(r.quantizedNodes).toBeGreaterThan(10);
    expect(r.outputSqnrDb).toBeGreaterThan(10);
    expect(r.tensors.length).toBeGreaterThan(10);
    expect(r.tensors.some((t) => t.kind === 'weight') && r.tensors.some((t) => t.kind === 'activation')).toBe(true);
    expect(r.tensors.map((t) => t.sqnrDb)).toEqual([...r.tensors.map((t) => t.sqnrDb)].sort((a, b) => a - b));
    expect(r.latency.floatMs).toBeGreaterThan(0);
    expect(r.latency.quantizedMs).toBeGreaterThan(0);
    expect(r.jscc && 'points' in r.jscc ? r.jscc.points.map((p) => p.snrDb) : r.jscc).toEqual([1, 13]);
    expect(formatReport(r).join('\n')).toContain('PSNR through AWGN');
    expect(JSON.parse(reportToJson(r))).toMatchObject({ output: { path: output } });
  });

  it('calibrates a decoder from images through the float encoder and the channel; fp16 keeps its PSNR', async () => {
    const dir = tempDir('dec');
    const int8 = await quantizeModel({ input: DEC, output: join(dir, 'dec.int8.onnx'), calib: CIFAR_SAMPLES, latencyRuns: 2, snrGrid: [7] });
    expect(int8.calibration!.source).toMatch(/through .*deepjscc-r12-snr7-enc.* and the channel/);
    expect(int8.outputSqnrDb).toBeGreaterThan(15);
    const fp16 = await quantizeModel({ input: DEC, output: join(dir, 'dec.fp16.onnx'), preset: 'fp16', calib: CIFAR_SAMPLES, latencyRuns: 2, snrGrid: [7] });
    expect(fp16.preset.mode).toBe('fp16');
    expect(fp16.outputSqnrDb).toBeGreaterThan(40);
    expect(fp16.jscc && 'maxLossDb' in fp16.jscc ? Math.abs(fp16.jscc.maxLossDb) : NaN).toBeLessThan(0.01);
  });

  it('fp16 keeps in float32 what does not fit float16 on the data: the encoder power normalization', async () => {
    // Its sum of 512 squares reaches ~150,000, past float16's 65,504: converted blindly, the latent is off by 7%.
    const r = await quantizeModel({ input: ENC, output: join(tempDir('enc16'), 'enc.fp16.onnx'), preset: 'fp16', calib: CIFAR_SAMPLES, latencyRuns: 1, snrGrid: [4, 19] });
    const guarded = r.leftInFloat.filter((s) => s.reason.includes("float16's safe range")).map((s) => s.opType);
    expect(guarded).toEqual(expect.arrayContaining(['Clip', 'Reciprocal']));
    expect(r.outputSqnrDb).toBeGreaterThan(50);
    expect(r.jscc && 'maxLossDb' in r.jscc ? Math.abs(r.jscc.maxLossDb) : NaN).toBeLessThan(0.01);
  });

  it('weight-only int8 for the DQN policy from a .npy, and the accuracy-driven mode keeps what an SQNR target needs', async () => {
    const dir = tempDir('policy');
    const calib = policyStatesNpy(dir, 40);
    const w = await quantizeModel({ input: POLICY, output: join(dir, 'policy.w8.onnx'), preset: 'weight-only', calib, latencyRuns: 2 });
    expect(w.sizeRatio).toBeLessThan(0.4);
    expect(w.outputSqnrDb).toBeGreaterThan(30);
    expect(w.jscc).toBeUndefined();
    const full = await quantizeModel({ input: POLICY, output: join(dir, 'policy.int8.onnx'), calib, latencyRuns: 2 });
    const target = full.outputSqnrDb + 3;
    const driven = await quantizeModel({ input: POLICY, output: join(dir, 'policy.int8.target.onnx'), calib, latencyRuns: 2, target: { sqnrDb: target } });
    expect(driven.sensitivity).toMatchObject({ metric: 'sqnr', met: true });
    expect(driven.sensitivity!.keptInFloat.length).toBeGreaterThan(0);
    expect(driven.outputSqnrDb).toBeGreaterThanOrEqual(target);
    for (const node of driven.sensitivity!.keptInFloat) expect(driven.leftInFloat.find((s) => s.node === node)?.reason).toMatch(/accuracy-driven/);
  });

  it('trt: symmetric int8 with zero points 0 everywhere, weights measured through their Q/DQ pair', async () => {
    const output = join(tempDir('trt'), 'enc.trt.onnx');
    const r = await quantizeModel({ input: ENC, output, preset: 'trt', calib: CIFAR_SAMPLES, latencyRuns: 1, jscc: false });
    expect(r.preset).toMatchObject({ mode: 'trt', activationType: 'int8', weightType: 'int8', cardPreset: 'int8-qdq-trt' });
    expect(r.tensors.filter((t) => t.kind === 'weight').length).toBeGreaterThan(5);
    for (const t of r.tensors) expect([t.type, t.zeroPoint]).toEqual(['int8', 0]);
    expect(r.outputSqnrDb).toBeGreaterThan(10);
    await runs(output, { image: new ort.Tensor('float32', new Float32Array(3072).fill(0.25), [1, 3, 32, 32]) });
  });

  it('an SNR-adaptive encoder from a folder with only image.npy: snr_db comes from the card grid, row by row', async () => {
    const dir = tempDir('adaptive');
    const images = cifarSamples();
    const data = new Float32Array(images.length * 3072);
    images.forEach((s, i) => data.set(s.image!.data as Float32Array, i * 3072));
    writeFileSync(join(dir, 'image.npy'), npyBytes([images.length, 3, 32, 32], data));
    const r = await quantizeModel({ input: join(ZOO, 'deepjscc-r12-adaptive-enc', 'model.onnx'), output: join(dir, 'a.onnx'), calib: dir, latencyRuns: 1, snrGrid: [0, 10] });
    expect(r.calibration!.samples).toBe(16);
    expect(r.outputSqnrDb).toBeGreaterThan(10);
    expect(r.jscc && 'points' in r.jscc ? r.jscc.points.map((p) => p.snrDb) : r.jscc).toEqual([0, 10]);
  });

  it('accuracy-driven for a JSCC encoder: the fewest nodes in float for a PSNR loss within 0.1 dB, checked on every image and SNR', async () => {
    const r = await quantizeModel({ input: ENC, output: join(tempDir('psnr-target'), 'e.onnx'), calib: CIFAR_SAMPLES, latencyRuns: 1, snrGrid: [4, 19], semantics: 'reference', target: { psnrLossDb: 0.1 } });
    expect(r.sensitivity).toMatchObject({ metric: 'psnr-loss', semantics: 'reference', met: true, verifiedOnAll: true });
    expect(r.sensitivity!.keptInFloat.length).toBeGreaterThan(0);
    expect(r.jsccReference!.maxLossDb).toBeLessThanOrEqual(0.1);
    expect(r.jsccReference!.maxLossDb).toBeCloseTo(-r.sensitivity!.finalScore, 9);
    // Kept nodes compute in float but store int8 weights, so the file still shrinks.
    for (const node of r.sensitivity!.keptInFloat) expect(r.leftInFloat.find((s) => s.node === node)?.reason).toContain('weights int8');
    expect(r.sizeRatio).toBeLessThan(0.4);
  });

  it('keeps excluded op types in float and lists them with the reason', async () => {
    const dir = tempDir('exclude');
    const r = await quantizeModel({ input: POLICY, output: join(dir, 'p.onnx'), calib: policyStatesNpy(dir, 20), exclude: ['Relu'], latencyRuns: 1 });
    expect(r.leftInFloat.filter((s) => s.opType === 'Relu').length).toBeGreaterThan(0);
  });
});

describe('quantizeModel refuses bad input in one line and writes nothing', () => {
  const cases: [string, () => Partial<QuantizeOptions>, RegExp][] = [
    ['random bytes as the model', () => ({ input: corruptModel(), calib: CIFAR_SAMPLES }), /model\.onnx/],
    ['a model cut in half', () => ({ input: truncatedModel(), calib: CIFAR_SAMPLES }), /model\.onnx/],
    ['a valid model with an op onnxruntime does not know', () => ({ input: modelThatDoesNotRun(), calib: CIFAR_SAMPLES }), /^onnxruntime cannot load .*NoSuchOp/],
    ['.npy rows of the wrong shape', () => ({ input: ENC, calib: wrongShapeNpyFolder() }), /image\.npy has rows of shape \[3, 16, 16\]; input "image" takes \[3, 32, 32\]/],
    ['an image folder with a corrupt JPEG', () => ({ input: ENC, calib: imagesWithCorruptJpeg() }), /99999-broken\.jpg/],
    ['an unknown preset', () => ({ input: ENC, calib: CIFAR_SAMPLES, preset: 'int3' }), /^unknown preset "int3"$/],
    ['an output in a folder that does not exist', () => ({ input: ENC, calib: CIFAR_SAMPLES, output: '/nonexistent-akb/out.onnx' }), /^cannot write \/nonexistent-akb\/out\.onnx: the folder \/nonexistent-akb does not exist$/],
    ['an --exclude name the model does not have', () => ({ input: ENC, calib: CIFAR_SAMPLES, exclude: ['NoSuchNode'] }), /^--exclude NoSuchNode: the model has no node or op type of that name$/],
    ['int8 without calibration data', () => ({ input: ENC }), /^int8 needs calibration data$/],
    ['calibration data that does not exist', () => ({ input: ENC, calib: '/nonexistent-akb-calib' }), /^\/nonexistent-akb-calib: no such file or folder$/],
    ['a folder of .npy whose image.npy holds NaN in row 2', () => ({ input: ENC, calib: nanNpyFolder() }), /^.*nan-folder.*: row 2 of input 'image' holds NaN at flat index 0 of the row \(3072 of 12288 values are not finite\): calibration and held-out data must be finite numbers$/],
    ['samples given in code with an Infinity', () => ({ input: POLICY, calib: [{ state: new ort.Tensor('float32', Float32Array.from({ length: 22 }, (_, i) => (i === 13 ? Infinity : 0.1)), [2, 11]) }] }), /^the samples given in code: row 1 of input 'state' holds Infinity at flat index 2 of the row/],
    ['a PSNR target for a model that is not JSCC', () => ({ input: POLICY, calib: policyStatesNpy(tempDir('t'), 8), target: { psnrLossDb: 0.1 } }), /--target-psnr-loss needs a JSCC model/],
  ];
  for (const [what, make, message] of cases) {
    it(what, async () => {
      const dir = tempDir('bad');
      const output = join(dir, 'out.onnx');
      const opts = { input: ENC, output, latencyRuns: 1, ...make() } as QuantizeOptions;
      const err = await quantizeModel(opts).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err, 'it should have thrown').toBeDefined();
      expect(err!.message).toMatch(oneLine);
      expect(err!.message).toMatch(message);
      expect(err!.code, 'a typed AkbError, not an internal error').toBeTypeOf('string');
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});

function nanNpyFolder(): string {
  const dir = tempDir('nan-folder');
  const data = new Float32Array(4 * 3072).fill(0.5);
  data.fill(NaN, 2 * 3072, 3 * 3072);
  writeFileSync(join(dir, 'image.npy'), npyBytes([4, 3, 32, 32], data));
  return dir;
}

function wrongShapeNpyFolder(): string {
  const dir = tempDir('wrong-shape');
  writeFileSync(join(dir, 'image.npy'), npyBytes([4, 3, 16, 16], new Float32Array(4 * 768).fill(0.5)));
  return dir;
}
