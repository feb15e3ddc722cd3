/**
 * A HIL sweep of 10 SNR points x 100 CIFAR-10 test images (`akb hil run`'s runner, one variant: the
 * SNR-adaptive Deep JSCC, AWGN, embedded broker): wall time and where it goes (results.stagesMs), against
 * a baseline measured in the same run: the same encodes and decodes called directly (onnxruntime
 * sessions, batch 1, AWGN added in process, the same PSNR and SSIM) without MQTT, emulator, reassembly or
 * edge pipeline. `ratio` = sweep wall time ÷ baseline wall time: what the real pieces cost on top of the
 * models. The 100 images are the first 100 of /work/shared/datasets/cifar10's test split, written once
 * to a folder under the OS temp directory (models/samples has 20); without that dataset the 20 samples
 * are used 5 times each (said in the output).
 *
 *   npx tsx bench/hil/index.ts        prints JSON on stdout
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { addAwgn, seededRandom } from '../../protocol/src/index.js';
import { decodeImage, defaultBackends, loadModelSet, psnr, ssim, type RgbImage } from '../../jscc/src/index.js';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';
import { runHil } from '../../toolkit/src/hil/runner/run.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DATASET = '/work/shared/datasets/cifar10';
const SNRS = [-2, 0, 2, 4, 6, 8, 10, 12, 14, 16];
const IMAGES = 100;
const SET = 'deepjscc-r12-adaptive';

/** 100 CIFAR-10 test JPEGs in a folder; the 20 samples repeated when the dataset is absent. */
function imageFolder(): { folder: string; source: string } {
  const folder = join(tmpdir(), 'akb-bench-hil-cifar100');
  if (existsSync(join(DATASET, 'test.jpgs'))) {
    if (!existsSync(folder) || readdirSync(folder).length < IMAGES) {
      mkdirSync(folder, { recursive: true });
      const index = JSON.parse(readFileSync(join(DATASET, 'test.index.json'), 'utf8')) as { classes: string[]; entries: [number, number, number][] };
      const all = readFileSync(join(DATASET, 'test.jpgs'));
      index.entries.slice(0, IMAGES).forEach(([offset, length, label], i) => {
        writeFileSync(join(folder, `${String(i).padStart(5, '0')}-${index.classes[label]}.jpg`), all.subarray(offset, offset + length));
      });
    }
    return { folder, source: `first ${IMAGES} of the CIFAR-10 test split` };
  }
  const samples = join(ROOT, 'models/samples/cifar10-test');
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < IMAGES; i++) {
    const files = readdirSync(samples).sort();
    writeFileSync(join(folder, `${String(i).padStart(5, '0')}.jpg`), readFileSync(join(samples, files[i % files.length]!)));
  }
  return { folder, source: 'the 20 CIFAR-10 samples of models/samples, each used 5 times (dataset absent)' };
}

/** The same encodes and decodes, called directly: per SNR and image, encoder, AWGN, decoder, PSNR, SSIM. */
async function baseline(images: RgbImage[]): Promise<{ wallMs: number; stagesMs: Record<string, number>; psnrBySnr: number[] }> {
  const set = await loadModelSet(join(ROOT, 'models/zoo'), SET);
  const backends = defaultBackends();
  const enc = await backends.createSession(set.encoder.bytes, ['onnxruntime-node-cpu'], 'encoder');
  const dec = await backends.createSession(set.decoder.bytes, ['onnxruntime-node-cpu'], 'decoder');
  const stages: Record<string, number> = { encode: 0, channel: 0, decode: 0, metrics: 0 };
  const random = seededRandom(1);
  const psnrBySnr: number[] = [];
  const t0 = performance.now();
  for (const snrDb of SNRS) {
    let sum = 0;
    for (const img of images) {
      const snr = { data: new Float32Array([snrDb]), dims: [1, 1] };
      let t = performance.now();
      const latent = (await enc.run({ image: { data: img.data, dims: [1, 3, 32, 32] }, snr_db: snr })).latent!;
      stages.encode! += performance.now() - t;
      t = performance.now();
      const rx = addAwgn(latent.data.slice(), snrDb, random);
      stages.channel! += performance.now() - t;
      t = performance.now();
      const out = (await dec.run({ latent: { data: rx, dims: latent.dims }, snr_db: snr })).image!;
      stages.decode! += performance.now() - t;
      t = performance.now();
      sum += psnr(img.data, out.data);
      ssim(img.data, out.data, 32, 32);
      stages.metrics! += performance.now() - t;
    }
    psnrBySnr.push(sum / images.length);
  }
  const wallMs = performance.now() - t0;
  await enc.release();
  await dec.release();
  return { wallMs, stagesMs: stages, psnrBySnr };
}

export async function runHilBench(): Promise<object> {
  const { folder, source } = imageFolder();
  const dir = join(tmpdir(), `akb-bench-hil-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const plan = join(dir, 'plan.yaml');
  writeFileSync(
    plan,
    `name: bench-hil\nchannels: [{kind: awgn}]\nsnrDb: [${SNRS.join(', ')}]\nimages: {folder: ${folder}, limit: ${IMAGES}}\nvariants: [{id: dj, set: ${SET}}]\nreport: {folder: out, images: 0}\n`,
  );
  const loaded = await loadPlan(plan, { defaultZoo: join(ROOT, 'models/zoo') });
  const images = await Promise.all(readdirSync(folder).sort().slice(0, IMAGES).map((f) => decodeImage(readFileSync(join(folder, f)), f)));
  // Warm both paths once (onnxruntime's first session and the JIT), then measure.
  await baseline(images.slice(0, 2));
  const base = await baseline(images);
  const t0 = performance.now();
  const { results } = await runHil(loaded);
  const sweepMs = performance.now() - t0;
  const psnrBySnr = SNRS.map((s) => results.summary.find((r) => r.snrDb === s)?.psnrMean ?? null);
  return {
    what: `akb hil runner, ${SNRS.length} SNR points x ${IMAGES} images (${source}), ${SET}, AWGN, embedded broker`,
    points: results.points.length,
    sweepWallS: sweepMs / 1000,
    sweepStagesMs: results.stagesMs,
    baselineWallS: base.wallMs / 1000,
    baselineStagesMs: base.stagesMs,
    ratio: sweepMs / base.wallMs,
    msPerPoint: { sweep: sweepMs / results.points.length, baseline: base.wallMs / (SNRS.length * IMAGES) },
    psnrBySnr: { snrsDb: SNRS, sweep: psnrBySnr, baseline: base.psnrBySnr },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await runHilBench(), null, 2)}\n`);
}
