/**
 * akb-k256 with its source KB withheld reproduces the Python figure for the same network without its KB:
 * models/eval/results/jscc_grid.json, model "akb", K = 1, 256 channel uses, AWGN at 1 dB, CIFAR-10 test,
 * 21.619 dB over the 10,000 test images (models/eval/akb_eval.py run_point: the global mean as prior at both
 * ends, every use latent, the decoder told the true SNR).
 *
 * Here: all 10,000 test images of shared/datasets/cifar10 (the same JPEG copy the Python evaluation read),
 * decoded with the jscc image codec, encoded by the edge's TileEncoder with sourceKb 'off' (action 256 uses,
 * 0 dB, at 1 dB), seeded AWGN at 1 dB on the 256 symbols, decoded by the zoo's decoder in onnxruntime-node with
 * the global mean, 1 dB and length 256. The mean PSNR must be within 0.1 dB of Python's (other noise draws;
 * over 10,000 images the noise moves the mean by about 0.01 dB). Absent dataset: skipped, naming it (a failure
 * under AKB_REQUIRE_ALL=1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gaussian, seededRandom } from '@akb/protocol';
import { TileEncoder } from '@akb/edge';
import { decodeImage, defaultBackends, loadModelSet, psnr } from '@akb/jscc';
import { requireAll } from '../support/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dataset = fileURLToPath(new URL('../../../shared/datasets/cifar10', import.meta.url));
const PYTHON = 21.619;
const SNR_DB = 1;
const BATCH = 500;
const present = existsSync(join(dataset, 'test.index.json')) && existsSync(join(dataset, 'test.jpgs'));
const title = 'akb-k256 with its KB withheld against the Python figure (CIFAR-10 test, AWGN 1 dB, 256 uses)';

const suite = present ? describe : requireAll() ? describe : describe.skip;
suite(present ? title : `${title} [${requireAll() ? '' : 'skipped: '}no ${dataset}/test.{index.json,jpgs} (the shared CIFAR-10 copy)]`, () => {
  it('mean PSNR over the 10,000 test images within 0.1 dB of 21.619 dB', async () => {
    if (!present) throw new Error(`no ${dataset}/test.index.json and test.jpgs; AKB_REQUIRE_ALL=1 makes this a failure`);
    const index = JSON.parse(readFileSync(join(dataset, 'test.index.json'), 'utf8')) as { entries: [number, number, number][] };
    const jpgs = readFileSync(join(dataset, 'test.jpgs'));
    expect(index.entries).toHaveLength(10_000);
    const set = await loadModelSet(join(root, 'models/zoo'), 'akb-k256');
    const encoder = await TileEncoder.create(set, { sourceKb: 'off', maxBatch: BATCH });
    const decoder = await defaultBackends().createSession(set.decoder.bytes, ['onnxruntime-node-cpu'], 'akb-jscc-dec');
    const action = set.actions.findIndex((a) => a.channelUses === 256 && a.powerDb === 0);
    const gmean = set.kb!.globalMean;
    const sigma = Math.sqrt(10 ** (-SNR_DB / 10) / 2);
    const random = seededRandom(20261202);
    const tiles = new Float32Array(BATCH * 3072);
    const latent = new Float32Array(BATCH * 1024);
    const prior = new Float32Array(BATCH * 3072);
    for (let i = 0; i < BATCH; i++) prior.set(gmean, i * 3072);
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
        expect([out.entries[i], out.indexUses[i], out.lengths[i]]).toEqual([-1, 0, 256]);
        const at = out.offsets[i]!;
        for (let k = 0; k < 512; k++) latent[i * 1024 + k] = out.values[at + k]! + sigma * gaussian(random);
      }
      const r = await decoder.run({
        latent: { data: latent.subarray(0, n * 1024), dims: [n, 1024] },
        prior: { data: prior.subarray(0, n * 3072), dims: [n, 3, 32, 32] },
        snr_db: { data: new Float32Array(n).fill(SNR_DB), dims: [n, 1] },
        length: { data: new Float32Array(n).fill(256), dims: [n, 1] },
      });
      const recon = r.image!.data;
      for (let i = 0; i < n; i++) {
        const rec = recon.subarray(i * 3072, (i + 1) * 3072).map((v) => Math.min(1, Math.max(0, v)));
        sum += psnr(tiles.subarray(i * 3072, (i + 1) * 3072), rec);
        count++;
      }
    }
    await Promise.all([encoder.release(), decoder.release()]);
    const mean = sum / count;
    if (process.env.AKB_VERBOSE) process.stderr.write(`kb off, 10,000 images, AWGN ${SNR_DB} dB: ${mean.toFixed(4)} dB (Python ${PYTHON} dB)\n`);
    expect(count).toBe(10_000);
    expect(Math.abs(mean - PYTHON), `TypeScript ${mean.toFixed(3)} dB, Python ${PYTHON} dB`).toBeLessThanOrEqual(0.1);
  }, 600_000);
});
