import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { cifarSamples, ZOO } from '../../../../test/quantize/images.js';
import { decodeModel, encodeModel } from '../onnx/io.js';
import { ortThreadOptions } from '@akb/jscc';
import { toRows } from '../report/rows.js';
import { quantizeWeightsOnly } from '../weight-only/index.js';
import { findJscc } from './card.js';
import { JsccEvaluator } from './evaluate.js';

const enc = join(ZOO, 'deepjscc-r12-snr7-enc', 'model.onnx');
const dec = join(ZOO, 'deepjscc-r12-snr7-dec', 'model.onnx');
const images = toRows(cifarSamples());

describe('findJscc', () => {
  it('recognizes an encoder by its card and finds the decoder beside it', async () => {
    const info = await findJscc(enc);
    expect(info).toMatchObject({ role: 'encoder', encoderPath: enc, decoderPath: dec, encoderOutput: 'latent', latentInput: 'latent', imageOutput: 'image', trainSnrDb: 7 });
    expect(info!.snrGrid).toEqual([-2, 0, 1, 2, 4, 5, 7, 10, 13, 16, 19, 20]);
    expect((await findJscc(dec))!.role).toBe('decoder');
  });

  it('says no for the DQN policy, and with required: one line naming why', async () => {
    const policy = join(ZOO, 'akb-dqn-policy', 'model.onnx');
    expect(await findJscc(policy)).toBeUndefined();
    await expect(findJscc(policy, { required: true })).rejects.toThrow(/^[^\n]*role is policy, not encoder or decoder[^\n]*$/);
  });
});

describe('JsccEvaluator', () => {
  it('reproduces the card PSNR of the float pair and reports zero loss for the float model itself', async () => {
    const info = (await findJscc(enc))!;
    const ev = await JsccEvaluator.create(info, images, { grid: [1, 7, 13] });
    const r = await ev.evaluate(readFileSync(enc));
    expect(r.images).toBe(20);
    for (const p of r.points) {
      // the same model through the same kernels on this machine as the float pipeline: the same bits
      expect(p.lossDb).toBe(0);
      const card = info.encoderCard!.quality.find((q) => q.metric === 'psnr' && q.channel === 'awgn' && q.snr === p.snrDb)!.value;
      expect(Math.abs(p.floatPsnrDb - card)).toBeLessThan(1.5); // 20 images against the card's 10,000
    }
    expect(r.points[0]!.floatPsnrDb).toBeLessThan(r.points[2]!.floatPsnrDb);
  });

  it('measures a small, repeatable loss for an int8-weight encoder and decoder against the same noise', async () => {
    const lossy = (path: string): Uint8Array => encodeModel(quantizeWeightsOnly(decodeModel(readFileSync(path))).model);
    for (const path of [enc, dec]) {
      const info = (await findJscc(path))!;
      const ev = await JsccEvaluator.create(info, images, { grid: [4, 10], seed: 5 });
      const a = await ev.evaluate(lossy(path));
      const b = await ev.evaluate(lossy(path));
      expect(b).toEqual(a); // repeatable on one machine: same noise seed, same kernels, same order
      expect(a.role).toBe(info.role);
      for (const p of a.points) {
        expect(p.lossDb).not.toBe(0);
        expect(Math.abs(p.lossDb)).toBeLessThan(0.5);
      }
      expect(a.maxLossDb).toBe(Math.max(...a.points.map((p) => p.lossDb)));
    }
  });

  it('turns images into decoder inputs through the float encoder and AWGN at the training SNR', async () => {
    const info = (await findJscc(dec))!;
    const rows = await (await JsccEvaluator.create(info, images)).decoderRows();
    expect(rows).toHaveLength(20);
    const encoder = await ort.InferenceSession.create(readFileSync(enc), ortThreadOptions());
    const clean = (await encoder.run({ image: cifarSamples(1)[0]!.image! })).latent!.data as Float32Array;
    const received = rows[0]!.latent!.data as Float32Array;
    expect(rows[0]!.latent!.dims).toEqual([1, 512]);
    let signal = 0;
    let noise = 0;
    for (let i = 0; i < clean.length; i++) {
      signal += clean[i]! ** 2;
      noise += (received[i]! - clean[i]!) ** 2;
    }
    expect(10 * Math.log10(signal / noise)).toBeGreaterThan(6);
    expect(10 * Math.log10(signal / noise)).toBeLessThan(8);
  });

  it('refuses data without images, and an encoder input the images lack, in one line', async () => {
    const info = (await findJscc(enc))!;
    const latentOnly = toRows([{ latent: new ort.Tensor('float32', new Float32Array(512), [1, 512]) }]);
    await expect(JsccEvaluator.create(info, latentOnly)).rejects.toThrow(/^JSCC evaluation needs images \(an "image" input\); the data has latent$/);
    const akb = (await findJscc(join(ZOO, 'akb-jscc-enc', 'model.onnx')))!;
    await expect(JsccEvaluator.create(akb, images)).rejects.toThrow(/^[^\n]*takes "prior", which the JSCC images do not have$/);
  });
});
