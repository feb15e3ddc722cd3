/**
 * A folder of .npy files, one per model input, named after the input (`image.npy`, `snr_db.npy`, ...),
 * each holding all samples along its first dimension: the layout for models with several inputs whose
 * values vary together (an SNR-adaptive decoder's received symbols and their SNR, an AKB model's prior).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
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
    const arr = parseNpy(await readFile(file), file);
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

/** A parsed .npy array, converted to float32. */
export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const DTYPES: Record<string, { bytes: number; read: (v: DataView, o: number) => number }> = {
  '<f4': { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  '<f8': { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  '<i8': { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  '<i4': { bytes: 4, read: (v, o) => v.getInt32(o, true) },
  '|u1': { bytes: 1, read: (v, o) => v.getUint8(o) },
  '|i1': { bytes: 1, read: (v, o) => v.getInt8(o) },
};

/** Parses .npy bytes (format 1.0–3.0, C order, little-endian float/int), converting values to float32. */
export function parseNpy(bytes: Uint8Array, what: string): NpyArray {
  const fail = (why: string): never => {
    throw new AkbError('BAD_CALIBRATION_DATA', `${what} is not a usable .npy file: ${why}`);
  };
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') fail('no NUMPY magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) fail('truncated header');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail('header without descr, fortran_order or shape');
  if (fortran === 'True') fail('Fortran order is not supported (save a C-ordered array)');
  const dtype = DTYPES[descr!] ?? fail(`dtype ${descr!} is not supported (float32, float64, int64, int32, uint8, int8)`);
  const shape = shapeText!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`bad shape (${shapeText!})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (bytes.length - dataStart < count * dtype.bytes) fail(`truncated: ${count} values of ${descr!} need ${count * dtype.bytes} bytes, ${bytes.length - dataStart} are there`);
  const data = new Float32Array(count);
  if (descr === '<f4' && (bytes.byteOffset + dataStart) % 4 === 0) data.set(new Float32Array(bytes.buffer, bytes.byteOffset + dataStart, count));
  else for (let i = 0; i < count; i++) data[i] = dtype.read(view, dataStart + i * dtype.bytes);
  return { shape, data };
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
