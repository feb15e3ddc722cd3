/**
 * akb-k256 with its source KB withheld reproduces the Python figure for the same network without its KB:
 * models/eval/results/jscc_grid.json, model "akb", K = 1, 256 channel uses, AWGN at 1 dB, CIFAR-10 test,
 * 21.619 dB over the 10,000 test images (models/eval/akb_eval.py run_point: the global mean as prior at both
 * ends, every use latent, the decoder told the true SNR). With the KB on (K = 256: the embedder's entry, 16
 * index uses, 240 latent), Python gives 21.6999 dB with its index sent and ML-decoded (0.67% of indices
 * wrong); here the index is taken as received, which Python's error rate moves by under 0.01 dB.
 *
 * Here: all 10,000 test images of shared/datasets/cifar10 (the same JPEG copy the Python evaluation read),
 * decoded with the jscc image codec, encoded by the edge's TileEncoder with sourceKb 'off' (action 256 uses,
 * 0 dB, at 1 dB), seeded AWGN at 1 dB on the 256 symbols, decoded by the zoo's decoder in onnxruntime-node with
 * the global mean, 1 dB and length 256. The mean PSNR must be within 0.1 dB of Python's (other noise draws;
 * over 10,000 images the noise moves the mean by about 0.01 dB). Absent dataset (test/support/datasets.ts: AKB_DATASETS or
 * ../shared/datasets): skipped, naming it (a failure under AKB_REQUIRE_DATASETS=1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gaussian, seededRandom } from '@akb/protocol';
import { TileEncoder } from '@akb/edge';
import { decodeImage, defaultBackends, loadModelSet, psnr } from '@akb/jscc';
import { datasetDir, requireDatasets } from '../support/datasets.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dataset = datasetDir('cifar10');
const PYTHON_OFF = 21.619;
const PYTHON_ON = 21.6999;
const SNR_DB = 1;
const BATCH = 500;
const present = existsSync(join(dataset, 'test.index.json')) && existsSync(join(dataset, 'test.jpgs'));
const title = 'akb-k256 with its KB withheld and with it, against the Python figures (CIFAR-10 test, AWGN 1 dB, 256 uses)';

async function meanPsnr(sourceKb: 'on' | 'off'): Promise<number> {
  const index = JSON.parse(readFileSync(join(dataset, 'test.index.json'), 'utf8')) as { entries: [number, number, number][] };
  const jpgs = readFileSync(join(dataset, 'test.jpgs'));
  expect(index.entries).toHaveLength(10_000);
  const set = await loadModelSet(join(root, 'models/zoo'), 'akb-k256');
  const encoder = await TileEncoder.create(set, { sourceKb, maxBatch: BATCH });
  const decoder = await defaultBackends().createSession(set.decoder.bytes, ['onnxruntime-node-cpu'], 'akb-jscc-dec');
  const action = set.actions.findIndex((a) => a.channelUses === 256 && a.powerDb === 0);
  const kb = set.kb!;
  const sigma = Math.sqrt(10 ** (-SNR_DB / 10) / 2);
  const random = seededRandom(sourceKb === 'off' ? 20261202 : 20261203);
  const tiles = new Float32Array(BATCH * 3072);
  const latent = new Float32Array(BATCH * 1024);
  const prior = new Float32Array(BATCH * 3072);
  const lengths = new Float32Array(BATCH);
  let sum = 0;
  let count = 0;
  for (let start = 0; start < index.entries.length; start += BATCH) {
    const n = Math.min(BATCH, index.entries.length - start);
    for (let i = 0; i < n; i++) {
      const [offset, length] = index.entries[start + i]!;
      const image = await decodeImage(jpgs.subarray(offset, offset + length), `test image ${start + i}`);
      expect([image.width, image.height]).toEqual([32, 32]);
      tiles.set(image.data, i * 3072);
    }
    const out = await encoder.encode({ tiles, count: n, actions: new Uint8Array(n).fill(action), snrEstimateDb: SNR_DB });
    latent.fill(0);
    for (let i = 0; i < n; i++) {
      const expected = sourceKb === 'off' ? [-1, 0, 256] : [out.entries[i]!, 16, 240];
      expect([out.entries[i], out.indexUses[i], out.lengths[i]]).toEqual(expected);
      if (sourceKb === 'on') expect(out.entries[i]).toBeGreaterThanOrEqual(0);
      const len = out.lengths[i]!;
      lengths[i] = len;
      prior.set(kb.prior(out.entries[i]!), i * 3072); // the index taken as received
      const at = out.offsets[i]!;
      for (let k = 0; k < 2 * len; k++) latent[i * 1024 + k] = out.values[at + k]! + sigma * gaussian(random);
    }
    const r = await decoder.run({
      latent: { data: latent.subarray(0, n * 1024), dims: [n, 1024] },
      prior: { data: prior.subarray(0, n * 3072), dims: [n, 3, 32, 32] },
      snr_db: { data: new Float32Array(n).fill(SNR_DB), dims: [n, 1] },
      length: { data: lengths.subarray(0, n), dims: [n, 1] },
    });
    const recon = r.image!.data;
    for (let i = 0; i < n; i++) {
      const rec = recon.subarray(i * 3072, (i + 1) * 3072).map((v) => Math.min(1, Math.max(0, v)));
      sum += psnr(tiles.subarray(i * 3072, (i + 1) * 3072), rec);
      count++;
    }
  }
  await Promise.all([encoder.release(), decoder.release()]);
  expect(count).toBe(10_000);
  return sum / count;
}

const suite = present ? describe : requireDatasets() ? describe : describe.skip;
suite(present ? title : `${title} [${requireDatasets() ? '' : 'skipped: '}no ${dataset}/test.{index.json,jpgs} (the shared CIFAR-10 copy)]`, () => {
  it('kb off: mean PSNR over the 10,000 test images within 0.1 dB of 21.619 dB; kb on within 0.1 dB of 21.700 dB', async () => {
    if (!present) throw new Error(`no ${dataset}/test.index.json and test.jpgs; AKB_REQUIRE_DATASETS=1 makes this a failure`);
    const off = await meanPsnr('off');
    const on = await meanPsnr('on');
    if (process.env.AKB_VERBOSE) process.stderr.write(`10,000 images, AWGN ${SNR_DB} dB: kb off ${off.toFixed(4)} dB (Python ${PYTHON_OFF}), kb on ${on.toFixed(4)} dB (Python ${PYTHON_ON})\n`);
    expect(Math.abs(off - PYTHON_OFF), `kb off: TypeScript ${off.toFixed(3)} dB, Python ${PYTHON_OFF} dB`).toBeLessThanOrEqual(0.1);
    expect(Math.abs(on - PYTHON_ON), `kb on: TypeScript ${on.toFixed(3)} dB, Python ${PYTHON_ON} dB`).toBeLessThanOrEqual(0.1);
  }, 600_000);
});
