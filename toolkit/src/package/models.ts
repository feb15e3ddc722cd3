/**
 * The model set a bundle carries: models/sets/<set>.json and, under models/zoo/, the folders of the models
 * the edge loads. jscc's loadModelSet loads the decoder too (the birth message reports its version and the
 * edge checks the pair), so the decoder is carried although only the cloud runs it; for an AKB set also the
 * embedder, the policy (with export.json: its action table), the source-KB snapshot and the channel KB.
 *
 * Refused, one line each: a set or model that is missing; a card that does not match its ONNX file (size
 * or SHA-256); a precision the profile's backends lack (an fp16 model needs a CUDA or TensorRT backend);
 * models larger than the profile's budget: the ONNX bytes together must stay under memoryMb/8 (a session
 * holds its weights about twice, the file bytes and the initialized tensors, and the edge's images and
 * activations need the rest: runtime-edge measured 130-250 MiB peaks with 3.5 MB of models).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AkbError, decodeMessage, type DeviceProfile, type ModelCard } from '@akb/protocol';
import { hashFile } from './node-runtime.js';
import type { PayloadFile } from './types.js';

/** The budget is memoryMb / MEMORY_BUDGET_DIVISOR MiB of ONNX bytes. */
export const MEMORY_BUDGET_DIVISOR = 8;
const MAX_SET_BYTES = 64 * 1024;
const MAX_CARD_BYTES = 4 * 1024 * 1024;
/** Files of a source-KB or channel-KB folder, at most. */
const MAX_DATA_FILES = 64;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const GPU_BACKENDS = ['onnxruntime-node-cuda', 'onnxruntime-node-tensorrt'];

export interface SetSpec {
  name: string;
  description?: string;
  kind: 'akb' | 'akb-fixed' | 'deepjscc';
  encoder: string;
  decoder: string;
  embedder?: string;
  kb?: string;
  policy?: string;
  channelKb?: string;
  /** akb-fixed only: `global-mean` makes the set the no-KB twin. */
  prior?: 'kb-entry' | 'global-mean';
}

export interface EdgeModel {
  /** Folder name under models/zoo. */
  name: string;
  dir: string;
  card: ModelCard;
  /** The ONNX file (possibly a quantized one in a staging folder). */
  onnx: string;
  /** Extra files of the folder to carry (export.json for a policy). */
  extra: string[];
}

/** Reads the set named `set` (a name in <zoo>/../sets/, or a path to its JSON). */
export async function readSet(zoo: string, set: string): Promise<{ path: string; spec: SetSpec }> {
  const path = resolve(set.endsWith('.json') ? set : join(zoo, '..', 'sets', `${set}.json`));
  const s = await stat(path).catch(() => undefined);
  if (s === undefined || !s.isFile()) throw new AkbError('MODEL_SET_MISSING', `no model set ${path}`, { hint: 'pass --set <name of a file in models/sets/> or a path to a set JSON, and --models <zoo folder>' });
  if (s.size > MAX_SET_BYTES) throw new AkbError('MODEL_SET_INVALID', `${path} is ${s.size} bytes; a model set is at most ${MAX_SET_BYTES}`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new AkbError('MODEL_SET_INVALID', `${path} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const str = (key: string, required: boolean): string | undefined => {
    const v = raw[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || !NAME.test(v)) throw new AkbError('MODEL_SET_INVALID', `${path}: "${key}" must be a model folder name (letters, digits, . _ -)`);
    return v;
  };
  const kind = raw.kind;
  if (kind !== 'akb' && kind !== 'akb-fixed' && kind !== 'deepjscc') throw new AkbError('MODEL_SET_INVALID', `${path}: "kind" must be "akb", "akb-fixed" or "deepjscc"`);
  const spec: SetSpec = { name: str('name', true)!, kind, encoder: str('encoder', true)!, decoder: str('decoder', true)! };
  if (typeof raw.description === 'string') spec.description = raw.description.slice(0, 2000);
  if (kind === 'akb') {
    for (const key of ['embedder', 'kb', 'policy', 'channelKb'] as const) spec[key] = str(key, true);
  }
  if (kind === 'akb-fixed') {
    spec.kb = str('kb', true);
    if (raw.prior !== undefined && raw.prior !== 'kb-entry' && raw.prior !== 'global-mean') {
      throw new AkbError('MODEL_SET_INVALID', `${path}: "prior" must be "kb-entry" or "global-mean"`);
    }
    if (raw.prior !== undefined) spec.prior = raw.prior;
  }
  return { path, spec };
}

/** The set rewritten for the bundle: known keys only, names of folders under models/zoo. */
export function setJson(spec: SetSpec): string {
  const keys = ['name', 'description', 'kind', 'encoder', 'decoder', 'embedder', 'kb', 'policy', 'channelKb', 'prior'] as const;
  const out: Record<string, string> = {};
  for (const k of keys) if (spec[k] !== undefined) out[k] = spec[k];
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Loads one model folder's card (size-bounded, schema-checked) and checks its ONNX file's size. */
export async function readModel(zoo: string, name: string): Promise<EdgeModel> {
  const dir = join(zoo, name);
  const cardPath = join(dir, 'card.json');
  const s = await stat(cardPath).catch(() => undefined);
  if (s === undefined) throw new AkbError('MODEL_MISSING', `model ${name}: no ${cardPath}`, { hint: 'a model folder holds card.json and model.onnx; pass --models <zoo folder>' });
  if (s.size > MAX_CARD_BYTES) throw new AkbError('MODEL_CARD_INVALID', `${cardPath} is ${s.size} bytes; a card is at most ${MAX_CARD_BYTES}`);
  let card: ModelCard;
  try {
    card = decodeMessage('model-card', await readFile(cardPath));
  } catch (e) {
    throw new AkbError('MODEL_CARD_INVALID', `${cardPath}: ${(e as Error).message.split('\n')[0]}`, { hint: 'see protocol/schema/model-card.schema.json', cause: e });
  }
  if (basename(card.onnx.file) !== card.onnx.file) throw new AkbError('MODEL_CARD_INVALID', `${cardPath}: onnx.file must be a file name in the model's folder`);
  const extra = card.role === 'policy' ? [join(dir, 'export.json')] : [];
  return { name, dir, card, onnx: join(dir, card.onnx.file), extra };
}

/** Checks an ONNX file against its card: size first (no read), then SHA-256. */
export async function checkOnnx(model: EdgeModel): Promise<void> {
  const s = await stat(model.onnx).catch(() => undefined);
  if (s === undefined || !s.isFile()) throw new AkbError('MODEL_MISSING', `model ${model.name}: no ${model.onnx}`, { hint: 'copy model.onnx beside its card.json' });
  if (s.size !== model.card.onnx.sizeBytes) {
    throw new AkbError('MODEL_CORRUPT', `${model.onnx} has ${s.size} bytes, its card says ${model.card.onnx.sizeBytes}`, { hint: 'the file is truncated or was replaced; copy it again with its card' });
  }
  if ((await hashFile(model.onnx, 'sha256')) !== model.card.onnx.sha256) {
    throw new AkbError('MODEL_CORRUPT', `${model.onnx} does not match the SHA-256 in its card`, { hint: 'the file is corrupt or was replaced; copy it again with its card' });
  }
  for (const x of model.extra) {
    if (!(await stat(x).then((e) => e.isFile(), () => false))) throw new AkbError('MODEL_MISSING', `model ${model.name}: no ${x}`, { hint: 'a policy folder holds export.json (its action table) beside card.json' });
  }
}

/** Refuses models the profile cannot run: a precision its backends lack, or more bytes than its budget. */
export function checkFits(profile: DeviceProfile, models: readonly EdgeModel[]): void {
  for (const m of models) {
    if (m.card.quantization === 'fp16' && !profile.backends.some((b) => GPU_BACKENDS.includes(b))) {
      throw new AkbError('MODEL_UNSUPPORTED', `${m.name} is fp16 and ${profile.id} has no GPU backend (${profile.backends.join(', ')})`, {
        hint: `quantize it for the profile instead: akb quantize <model> --profile ${profile.id}`,
      });
    }
  }
  const total = models.reduce((sum, m) => sum + m.card.onnx.sizeBytes, 0);
  const budget = Math.floor((profile.memoryMb * 1024 * 1024) / MEMORY_BUDGET_DIVISOR);
  if (total > budget) {
    throw new AkbError('MODEL_TOO_LARGE', `the edge models are ${mib(total)} MiB; ${profile.id} (${profile.memoryMb} MiB) allows ${mib(budget)} MiB (memory/${MEMORY_BUDGET_DIVISOR})`, {
      hint: 'use a smaller model set, or quantize it for the profile (--quantize --calib <dir>)',
    });
  }
}

/** Every regular file of a data folder (source KB, channel KB), sorted, bounded in number. */
export async function dataFolder(zoo: string, name: string): Promise<string[]> {
  const dir = join(zoo, name);
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: unknown) => {
    throw new AkbError('MODEL_MISSING', `no folder ${dir} for ${name}`, { hint: 'pass --models <zoo folder> holding every folder the set names', cause: e });
  });
  const files = entries.filter((e) => e.isFile()).map((e) => e.name).sort();
  if (files.length === 0 || files.length > MAX_DATA_FILES) throw new AkbError('MODEL_SET_INVALID', `${dir} holds ${files.length} files (1 to ${MAX_DATA_FILES} expected)`);
  return files.map((f) => join(dir, f));
}

/** Payload files of the models and data folders. */
export async function modelPayload(spec: SetSpec, zoo: string, models: readonly EdgeModel[], cards: ReadonlyMap<string, Uint8Array>): Promise<PayloadFile[]> {
  const files: PayloadFile[] = [{ path: `models/sets/${spec.name}.json`, role: 'config', source: { bytes: Buffer.from(setJson(spec)) } }];
  for (const m of models) {
    const base = `models/zoo/${m.name}`;
    const card = cards.get(m.name);
    files.push({ path: `${base}/card.json`, role: 'model-card', source: card ? { bytes: card } : { file: join(m.dir, 'card.json') } });
    files.push({ path: `${base}/${m.card.onnx.file}`, role: 'model', source: { file: m.onnx } });
    for (const x of m.extra) files.push({ path: `${base}/${basename(x)}`, role: 'config', source: { file: x } });
  }
  for (const [key, role] of [['kb', 'kb'], ['channelKb', 'kb']] as const) {
    const name = spec[key];
    if (name === undefined) continue;
    for (const f of await dataFolder(zoo, name)) files.push({ path: `models/zoo/${name}/${basename(f)}`, role, source: { file: f } });
  }
  return files;
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/** The zoo folder of a set file that sits in <zoo>/../sets/. */
export function defaultZoo(setPath: string): string {
  return join(dirname(setPath), '..', 'zoo');
}
