/**
 * Calibration and held-out data for `quantizeModel`, as row tables:
 * - samples given in code (one or more rows each);
 * - a folder of .npy files named after the model's inputs (all inputs vary together; see npy-folder.ts);
 * - a folder of PNG/JPEG images or one .npy file, through calibrate/'s loader (a model with one image
 *   input; an `snr_db` input is filled from the card, cycling through its SNR grid row by row; an AKB
 *   model's `prior` and `length` from its model set's source KB and actions, see jscc/kb-inputs.ts);
 * - for a JSCC decoder, encoder-side data (images, or a .npy folder with `image.npy`): each row goes
 *   through the float encoder and the AWGN channel at the row's SNR, which gives the decoder's inputs.
 */
import { stat } from 'node:fs/promises';
import { AkbError } from '@akb/protocol';
import type * as ort from 'onnxruntime-node';
import { checkFiniteRows } from './calibrate/finite.js';
import type { JsccModelInfo } from './jscc/card.js';
import { JsccEvaluator } from './jscc/evaluate.js';
import { KB_INPUTS, fillKbInputs } from './jscc/kb-inputs.js';
import { readModel } from './onnx/io.js';
import type { Model } from './onnx/types.js';
import { inputRowDims, npyFilesIn, readNpyFolder } from './report/npy-folder.js';
import { toRows, type RowTable } from './report/rows.js';
import { createSession, type Feeds } from './report/session.js';

/** Rows for the model, and (for JSCC models fed encoder-side data) the encoder rows they came from. */
export interface LoadedData {
  rows: RowTable;
  source: string;
  /** Encoder inputs (with `image`), when the data had them: what the JSCC PSNR evaluation needs. */
  encoderRows?: RowTable;
}

export interface DataContext {
  model: Model;
  session: ort.InferenceSession;
  jscc?: JsccModelInfo;
  limit?: number;
}

/**
 * Loads `source` as rows of the model's inputs. Wrong shapes, types or missing inputs are one-line
 * errors, and so is a NaN or an infinity, naming the source, the input and the row (for a decoder fed
 * through the float encoder, the encoder output that is not finite).
 */
export async function loadData(source: string | readonly Feeds[], ctx: DataContext): Promise<LoadedData> {
  const loaded = await loadRows(source, ctx);
  const what = typeof source === 'string' ? source : 'the samples given in code';
  if (loaded.encoderRows && loaded.encoderRows !== loaded.rows) {
    checkFiniteTable(loaded.encoderRows, (r, input) => `${what}: row ${r} of input '${input}'`);
    const encoder = ctx.jscc?.encoderPath ?? 'the encoder';
    const rule = 'the float encoder computes non-finite values from finite data';
    checkFiniteTable(loaded.rows, (r, input) => `${encoder} (the float encoder) turns row ${r} of ${what} into a decoder input '${input}' that`, rule);
  } else {
    checkFiniteTable(loaded.rows, (r, input) => `${what}: row ${r} of input '${input}'`);
  }
  return loaded;
}

/** Every float column of the table must be finite (calibrate/finite.ts says where it is not). */
function checkFiniteTable(rows: RowTable, where: (row: number, input: string) => string, rule?: string): void {
  for (const [name, col] of rows.columns) {
    if (col.data instanceof Float32Array || col.data instanceof Float64Array) checkFiniteRows(col.data, col.rowSize, rows.count, (r) => where(r, name), rule);
  }
}

async function loadRows(source: string | readonly Feeds[], ctx: DataContext): Promise<LoadedData> {
  const decoderFromEncoder = ctx.jscc?.role === 'decoder' && !ctx.session.inputNames.includes('image');
  if (typeof source !== 'string') {
    const rows = toRows(source.slice(0, ctx.limit ?? source.length));
    const what = `${rows.count} samples given in code`;
    if (decoderFromEncoder && rows.columns.has('image')) return { rows: await throughEncoder(ctx.jscc!, rows), source: `${what} (through the encoder and the channel)`, encoderRows: rows };
    return { rows, source: what, ...(rows.columns.has('image') && ctx.jscc?.role === 'encoder' ? { encoderRows: rows } : {}) };
  }
  let isDir: boolean;
  try {
    isDir = (await stat(source)).isDirectory();
  } catch {
    throw new AkbError('BAD_CALIBRATION_DATA', `${source}: no such file or folder`);
  }
  const npy = isDir ? await npyFilesIn(source) : new Map<string, string>();
  if (npy.size > 0) {
    const missing = ctx.session.inputNames.filter((n) => !npy.has(n));
    if (missing.length === 0 || (ctx.jscc && missing.length === 1 && missing[0] === 'snr_db')) {
      const dims = inputRowDims(ctx.session);
      dims.delete(missing[0] ?? '');
      const read = await readNpyFolder(source, dims, limitOf(ctx));
      const rows = missing.length === 0 ? read : withSnrColumn(read, ctx.jscc!);
      return { rows, source, ...(ctx.jscc?.role === 'encoder' ? { encoderRows: rows } : {}) };
    }
    if (decoderFromEncoder && npy.has('image')) {
      const encoder = await createSession(await readFileBytes(ctx.jscc!.encoderPath), ctx.jscc!.encoderPath);
      const dims = inputRowDims(encoder);
      for (const name of dims.keys()) if (!npy.has(name) && name === 'snr_db') dims.delete(name);
      const encoderRows = await readNpyFolder(source, dims, limitOf(ctx));
      return { rows: await throughEncoder(ctx.jscc!, encoderRows), source: `${source} (through ${ctx.jscc!.encoderPath} and the channel)`, encoderRows };
    }
    throw new AkbError('BAD_CALIBRATION_DATA', `${source} has no ${missing.map((m) => `${m}.npy`).join(', ')} (one .npy per model input: ${ctx.session.inputNames.join(', ')})`);
  }
  // Images, or a single .npy for a single-input model: calibrate/'s loader.
  const target = decoderFromEncoder ? await readModel(ctx.jscc!.encoderPath) : ctx.model;
  // an AKB encoder's prior and length: placeholders here, each row's own values from the KB below
  const kbInputs = ctx.jscc !== undefined ? kbPlaceholders(target) : {};
  const kbFilled = Object.keys(kbInputs).length > 0;
  const fixedInputs = { ...snrFixedInput(target, ctx.jscc), ...kbInputs };
  const { loadCalibrationSamples } = await import('./calibrate/index.js');
  const samples = await loadCalibrationSamples(source, target, { ...limitOf(ctx), fixedInputs });
  if (samples.length === 0) throw new AkbError('BAD_CALIBRATION_DATA', `${source}: no samples`);
  const rows = toRows(samples);
  cycleSnr(rows, ctx.jscc);
  if (kbFilled) await fillKbInputs(rows, ctx.jscc!.encoderPath);
  if (decoderFromEncoder) return { rows: await throughEncoder(ctx.jscc!, rows), source: `${source} (through ${ctx.jscc!.encoderPath} and the channel)`, encoderRows: rows };
  return { rows, source, ...(ctx.jscc?.role === 'encoder' ? { encoderRows: rows } : {}) };
}

/** Decoder rows from encoder rows: the float encoder, then AWGN at each row's SNR. */
async function throughEncoder(info: JsccModelInfo, encoderRows: RowTable): Promise<RowTable> {
  const evaluator = await JsccEvaluator.create(info, encoderRows);
  return toRows(await evaluator.decoderRows());
}

/** The value calibrate/'s loader puts in an `snr_db` input (the training SNR, else the middle of the range). */
function snrFixedInput(model: Model, jscc: JsccModelInfo | undefined): Record<string, number> | undefined {
  if (!model.graph.input.some((i) => i.name === 'snr_db')) return undefined;
  const range = jscc?.snrInputRange;
  return { snr_db: jscc?.trainSnrDb ?? (range ? (range.min + range.max) / 2 : 10) };
}

/** The rows plus an `snr_db` column: the training SNR, or the SNR grid in turn for an SNR-adaptive model. */
function withSnrColumn(rows: RowTable, jscc: JsccModelInfo): RowTable {
  const data = new Float32Array(rows.count).fill(jscc.trainSnrDb ?? 10);
  const out: RowTable = { count: rows.count, columns: new Map(rows.columns) };
  out.columns.set('snr_db', { type: 'float32', rowDims: [1], rowSize: 1, data });
  cycleSnr(out, jscc);
  return out;
}

/** Zeros for the KB inputs the target has (calibrate/'s loader needs a value for every input). */
function kbPlaceholders(model: Model): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of KB_INPUTS) if (model.graph.input.some((i) => i.name === n)) out[n] = 0;
  return out;
}

/** For an SNR-adaptive model, rows take the grid's SNRs in turn (clamped to the input's range). */
function cycleSnr(rows: RowTable, jscc: JsccModelInfo | undefined): void {
  const col = rows.columns.get('snr_db');
  if (col === undefined || jscc === undefined || jscc.trainSnrDb !== undefined) return;
  const range = jscc.snrInputRange ?? { min: -Infinity, max: Infinity };
  const grid = jscc.snrGrid.map((s) => Math.min(range.max, Math.max(range.min, s)));
  for (let r = 0; r < rows.count; r++) (col.data as Float32Array)[r * col.rowSize] = grid[r % grid.length]!;
}

function limitOf(ctx: DataContext): { limit?: number } {
  return ctx.limit === undefined ? {} : { limit: ctx.limit };
}

async function readFileBytes(path: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path);
  } catch (e) {
    throw new AkbError('MODEL_UNREADABLE', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
