/**
 * The inputs of an AKB model that images alone do not give: `prior` (the source-KB entry's prior image)
 * and `length` (latent symbols sent), filled per image row the way the edge fills them, so a folder of
 * images calibrates the AKB encoders and decoders as it does Deep JSCC.
 *
 * The model set is found by name: a `<zoo>/../sets/*.json` whose `encoder` is the encoder's folder (the
 * zoo layout of models/; a decoder's rows are made from its encoder's, see quantize-data.ts). Its KB and rule give the prior: an `akb` set's embedder output, the
 * nearest key of the KB (as runtime-edge's encoder picks it); an `akb-fixed` set's KB searched in pixel
 * space, or its global mean for a no-KB set. `length` takes the set's distinct channel-use actions in turn,
 * row by row (64, 128, 256, 384, 512 for akb-k256), the latent size for a fixed-rate set.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { loadModelSet, ortThreadOptions, type ModelSet } from '@akb/jscc';
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import { PER_INPUT } from '../calibrate/data.js';
import type { RowTable } from '../report/rows.js';

/** The inputs this module fills. */
export const KB_INPUTS = ['prior', 'length'] as const;

/** Most set files read when looking for the model's set. */
const MAX_SET_FILES = 256;

/** The set naming the folder of `encoderPath` as its encoder (zoo layout), or an error saying what was looked for. */
async function setOf(encoderPath: string): Promise<ModelSet> {
  const folder = dirname(encoderPath);
  const zoo = dirname(folder);
  const sets = join(zoo, '..', 'sets');
  const hint = `keep the model in its zoo folder beside models/sets/, or ${PER_INPUT}`;
  let files: string[];
  try {
    files = (await readdir(sets)).filter((f) => f.endsWith('.json')).sort();
  } catch {
    throw new AkbError('BAD_CALIBRATION_DATA', `${encoderPath} takes a source-KB prior, and there is no ${sets} to find its model set in`, { hint });
  }
  for (const f of files.slice(0, MAX_SET_FILES)) {
    let spec: unknown;
    try {
      spec = JSON.parse(await readFile(join(sets, f), 'utf8'));
    } catch {
      continue; // not a set this model is in; loadModelSet reports a broken one when it is used
    }
    const s = spec as { encoder?: unknown; kb?: unknown };
    if (s.encoder === basename(folder) && typeof s.kb === 'string') return loadModelSet(zoo, join(sets, f));
  }
  throw new AkbError('BAD_CALIBRATION_DATA', `${encoderPath} takes a source-KB prior, and no model set in ${sets} names ${basename(folder)} as its encoder with a kb`, { hint });
}

/** Writes `prior` and `length` of every row of `rows` (which has `image`) for the encoder at `encoderPath`. */
export async function fillKbInputs(rows: RowTable, encoderPath: string): Promise<void> {
  const image = rows.columns.get('image');
  const prior = rows.columns.get('prior');
  const length = rows.columns.get('length');
  if (!image || !prior) return;
  const set = await setOf(encoderPath);
  const kb = set.kb!;
  if (prior.rowSize !== kb.globalMean.length || image.rowSize !== kb.globalMean.length) {
    throw new AkbError('BAD_CALIBRATION_DATA', `${encoderPath}: prior rows of ${prior.rowSize} values, the KB ${kb.name} gives ${kb.globalMean.length}`);
  }
  const images = image.data as Float32Array;
  const entries = await pickEntries(set, images, rows.count, image.rowDims);
  const priors = prior.data as Float32Array;
  for (let r = 0; r < rows.count; r++) priors.set(kb.prior(entries[r]!), r * prior.rowSize);
  if (length) {
    const uses = [...new Set(set.actions.map((a) => Math.min(set.maxSymbols, a.channelUses)))].sort((a, b) => a - b);
    const data = length.data as Float32Array;
    for (let r = 0; r < rows.count; r++) data[r * length.rowSize] = uses[r % uses.length]!;
  }
}

/** The KB entry of each image: the embedder's nearest key, the nearest prior in pixels, or -1 (global mean). */
async function pickEntries(set: ModelSet, images: Float32Array, count: number, rowDims: readonly number[]): Promise<Int32Array> {
  const kb = set.kb!;
  const rowSize = rowDims.reduce((a, b) => a * b, 1);
  const entries = new Int32Array(count).fill(-1);
  if (set.kind === 'akb-fixed') {
    if (set.prior === 'kb-entry') for (let r = 0; r < count; r++) entries[r] = kb.nearest(images, r * rowSize).entry;
    return entries;
  }
  const e = set.embedder!;
  const session = await ort.InferenceSession.create(e.bytes, ortThreadOptions());
  try {
    const input = e.card.inputs[0]!.name;
    const output = e.card.outputs[0]!.name;
    for (let start = 0; start < count; start += 64) {
      const n = Math.min(64, count - start);
      const feed = new ort.Tensor('float32', images.subarray(start * rowSize, (start + n) * rowSize), [n, ...rowDims]);
      const out = (await session.run({ [input]: feed }))[output];
      const emb = out?.data;
      if (!(emb instanceof Float32Array) || emb.length !== n * kb.dim) {
        throw new AkbError('MODEL_SET_INVALID', `${e.card.name} gave ${emb instanceof Float32Array ? emb.length : 'no float32'} values for ${n} images; the KB's keys have ${kb.dim} each`);
      }
      for (let i = 0; i < n; i++) entries[start + i] = kb.nearest(emb, i * kb.dim).entry;
    }
  } finally {
    await session.release();
  }
  return entries;
}
