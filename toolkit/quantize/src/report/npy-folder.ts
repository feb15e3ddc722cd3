/**
 * A folder of .npy files, one per model input, named after the input (`image.npy`, `snr_db.npy`, ...),
 * each holding all samples along its first dimension (float32, float64, or uint8 pixels divided by 255, as
 * calibrate/'s .npy reader takes them): the layout for models with several inputs whose values vary together (an SNR-adaptive decoder's received symbols and their SNR, an AKB model's prior).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import { parseNpy, type NpyArray } from '../calibrate/npy.js';
import type { RowColumn, RowTable } from './rows.js';

/** .npy files of `dir` by input name (file name without .npy); empty when it has none. */
export async function npyFilesIn(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return new Map();
  }
  return new Map(names.filter((n) => n.endsWith('.npy')).map((n) => [n.slice(0, -4), join(dir, n)]));
}

/**
 * Reads the .npy files of `dir` for `inputs` (name → expected row dims, -1 or a string for a free dim)
 * into a row table. Every file must have the same number of rows and the row shape the model expects;
 * `limit` keeps the first rows only.
 */
export async function readNpyFolder(dir: string, inputs: Map<string, (number | string)[]>, opts: { limit?: number } = {}): Promise<RowTable> {
  const files = await npyFilesIn(dir);
  const columns = new Map<string, RowColumn>();
  let count = -1;
  for (const [name, rowDims] of inputs) {
    const file = files.get(name);
    if (file === undefined) throw new AkbError('BAD_CALIBRATION_DATA', `${dir} has no ${name}.npy (the model's inputs: ${[...inputs.keys()].join(', ')})`);
    const arr = asFloat32(parseNpy(await readFile(file), file));
    const dims = arr.shape.slice(1);
    const fits = dims.length === rowDims.length && dims.every((d, i) => typeof rowDims[i] !== 'number' || rowDims[i] === -1 || rowDims[i] === d);
    if (!fits) throw new AkbError('BAD_CALIBRATION_DATA', `${file} has rows of shape [${dims.join(', ')}]; input "${name}" takes [${rowDims.join(', ')}]`);
    const rows = Math.min(arr.shape[0] ?? 0, opts.limit ?? Infinity);
    if (count !== -1 && rows !== count) throw new AkbError('BAD_CALIBRATION_DATA', `${file} has ${rows} rows; the other inputs have ${count}`);
    count = rows;
    const rowSize = dims.reduce((a, b) => a * b, 1);
    columns.set(name, { type: 'float32', rowDims: dims, rowSize, data: arr.data.subarray(0, rows * rowSize) });
  }
  if (count <= 0) throw new AkbError('BAD_CALIBRATION_DATA', `${dir}: no samples`);
  return { count, columns };
}

/** The row dims of each float input of a session's model, from onnxruntime's input metadata. */
export function inputRowDims(session: ort.InferenceSession): Map<string, (number | string)[]> {
  const out = new Map<string, (number | string)[]>();
  session.inputNames.forEach((name, i) => {
    const meta = session.inputMetadata[i];
    const shape = meta && meta.isTensor ? meta.shape : [];
    out.set(name, shape.slice(1).map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))));
  });
  return out;
}

/** float32 values of a parsed array: float64 narrowed, uint8 taken as 8-bit pixels (/ 255) as calibrate/ does. */
function asFloat32(arr: NpyArray): { shape: number[]; data: Float32Array } {
  const { shape, data } = arr;
  if (data instanceof Float32Array) return { shape, data };
  if (data instanceof Uint8Array) return { shape, data: Float32Array.from(data, (v) => v / 255) };
  return { shape, data: Float32Array.from(data) };
}
