/**
 * The model set of a variant at its precision. float: the set as it is in the zoo. int8 and fp16: the
 * set's encoder (the model that runs on the edge) made as `akb quantize` makes it (presets int8 and fp16,
 * calibrated on the plan's images: calib.ts makes an AKB encoder's rows), cached under `<report>/models/<encoder>-<precision>/` with its card
 * and reused while the float model and the images are unchanged (the cache key is the float model's
 * SHA-256 and the calibration files' names); the cloud keeps the float decoder, as a deployment does.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { loadModel, loadModelSet, type ModelSet, type RgbImage } from '@akb/jscc';
import { akbCalibration } from './calib.js';
import type { Precision } from './results.js';

export interface VariantModelsOptions {
  zoo: string;
  set: string;
  precision: Precision;
  /** `<report>/models` */
  cacheDir: string;
  /** Calibration images (a folder): int8 calibrates on them, fp16 measures on them. */
  calib: string;
  calibNames: readonly string[];
  /** The same images decoded: an AKB encoder's calibration rows are made from them (calib.ts). */
  calibImages: readonly RgbImage[];
  onProgress?: (phase: string) => void;
}

export async function loadVariantSet(options: VariantModelsOptions): Promise<ModelSet> {
  const set = await loadModelSet(options.zoo, options.set);
  if (options.precision === 'float') return set;
  const enc = set.encoder;
  const dir = join(options.cacheDir, `${enc.card.name}-${options.precision}`);
  const key = createHash('sha256').update(`${enc.card.onnx.sha256}\n${options.precision}\n${options.calibNames.join('\n')}`).digest('hex');
  const keyFile = join(dir, 'cache-key');
  const cached = await readFile(keyFile, 'utf8').catch(() => '');
  if (cached.trim() !== key) {
    options.onProgress?.(`quantize ${enc.card.name} (${options.precision})`);
    await mkdir(dir, { recursive: true });
    const { quantizeModel } = await import('@akb/quantize');
    // int8 calibrates on these rows; fp16 measures its report on them (quantize needs data for both).
    const calib = (await akbCalibration(set, options.calibImages, join(dir, 'calib'))) ?? options.calib;
    await quantizeModel({
      input: join(enc.dir, enc.card.onnx.file),
      output: join(dir, 'model.onnx'),
      preset: options.precision,
      calib,
      calibLimit: 64,
      jscc: false,
    });
    await writeFile(keyFile, `${key}\n`);
  }
  const encoder = await loadModel(dir);
  return { ...set, encoder };
}

/** The error for an int8/fp16 encoder the inference backend cannot load (NO_BACKEND when its rig starts). */
export function precisionError(precision: Precision, set: string, cause: unknown): AkbError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new AkbError('PRECISION_UNSUPPORTED', `${set} at ${precision}: the inference backend cannot load the ${precision} encoder (${why.split('\n')[0]?.slice(0, 300)})`, {
    hint: precision === 'fp16' ? 'fp16 needs a backend with fp16 kernels (a GPU execution provider, e.g. on a Jetson); on this CPU use float or int8' : 'run `akb quantize` on the encoder to see why',
    exitCode: 2,
    cause,
  });
}
