/**
 * Calibration samples from disk, one sample (batch 1) per image or per .npy row:
 *
 * - a folder of PNG/JPEG images (other files and subfolders ignored), in file-name order (code-point
 *   order, so the same folder always gives the same samples), fed to the model's one image input
 *   (float32 [N, C, H, W], C = 1 or 3): NCHW float32 in [0, 1] (byte / 255), resized bilinearly to
 *   H × W when the sizes differ, RGB or grayscale by C (see image.ts);
 * - a .npy file of shape [count, ...input dims] (C order; float32 and float64 used as they are, uint8
 *   taken as 8-bit pixels and divided by 255), fed to the input whose shape it fits.
 *
 * Every other input needs a value in `fixedInputs` (e.g. the SNR input of the adaptive JSCC
 * encoders): a number fills the input's shape, a Float32Array gives all of one row's values.
 * Errors are one-line AkbErrors naming the file or the input; a NaN or an infinity in a .npy row (or a
 * float64 value beyond float32) or in a fixed input is one, naming the file, the row and the input.
 * Images cannot hold one (bytes / 255, interpolated).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import type { Model } from '../onnx/types.js';
import { checkFiniteRows, firstNonFinite, nonFiniteName } from './finite.js';
import { imageToChw } from './image.js';
import { formatDims, modelInputs, ortTypeName, type ModelInput } from './inputs.js';
import { readNpy, type NpyArray } from './npy.js';
import type { CalibrationSample } from './types.js';

/** Options of `loadCalibrationSamples`. */
export interface LoadSamplesOptions {
  /** Use at most this many samples (the first ones in order). */
  limit?: number;
  /** Values for the inputs the data does not provide. */
  fixedInputs?: Record<string, number | Float32Array>;
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;
const FLOAT = 1;

function fail(message: string, hint?: string): AkbError {
  return new AkbError('BAD_CALIBRATION_DATA', message, hint !== undefined ? { hint } : {});
}

/** What a user of `akb quantize` does where a library caller passes fixedInputs. */
export const PER_INPUT = '--calib a folder holding one <input name>.npy per model input, all with the same row count';
const CLI_HINT = `with akb quantize: ${PER_INPUT}`;

/** One-row tensors for the fixed inputs (batch dimension 1). */
function fixedTensors(inputs: readonly ModelInput[], fixed: Record<string, number | Float32Array>): CalibrationSample {
  const out: CalibrationSample = {};
  const byName = new Map(inputs.map((i) => [i.name, i]));
  for (const [name, value] of Object.entries(fixed)) {
    const input = byName.get(name);
    if (!input) throw fail(`fixedInputs names '${name}', which is not an input of the model (its inputs: ${inputs.map((i) => i.name).join(', ')})`);
    if (input.elemType !== FLOAT) throw fail(`fixed input '${name}' is ${ortTypeName(input.elemType)}: fixedInputs feed float32 inputs only`);
    if (!input.dims) throw fail(`input '${name}' has no known shape: cannot build its fixed value`);
    const dims = input.dims.map((d, axis) => {
      if (typeof d === 'number') return d;
      if (axis === 0) return 1;
      throw fail(`input '${name}' has a dynamic dimension ${formatDims(input.dims)} besides the batch: cannot build its fixed value`);
    });
    const count = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (typeof value === 'number') {
      data = new Float32Array(count).fill(value);
    } else {
      if (value.length !== count) throw fail(`fixed input '${name}' has ${value.length} values, its shape ${formatDims(dims)} needs ${count}`);
      data = value;
    }
    const bad = firstNonFinite(data);
    if (bad !== -1) throw new AkbError('NON_FINITE_DATA', `fixed input '${name}' holds ${nonFiniteName(data[bad]!)}: calibration data must be finite numbers`);
    out[name] = new ort.Tensor('float32', data, dims);
  }
  return out;
}

/** The inputs that neither the data nor fixedInputs provide: an error naming the first one. */
function requireRest(inputs: readonly ModelInput[], dataInput: string, fixed: CalibrationSample): void {
  for (const i of inputs) {
    if (i.name !== dataInput && fixed[i.name] === undefined) {
      throw fail(`input '${i.name}' (${ortTypeName(i.elemType)} ${formatDims(i.dims)}) needs a value: pass it in fixedInputs`, CLI_HINT);
    }
  }
}

async function loadImages(dir: string, inputs: ModelInput[], fixed: CalibrationSample, limit: number): Promise<CalibrationSample[]> {
  const free = inputs.filter((i) => fixed[i.name] === undefined);
  const images = free.filter((i) => i.elemType === FLOAT && i.dims?.length === 4);
  if (images.length === 0) {
    throw fail(`the model has no image input (float32 [N, C, H, W]) for the images in ${dir}: its inputs are ${inputs.map((i) => `${i.name} ${ortTypeName(i.elemType)} ${formatDims(i.dims)}`).join(', ')}`);
  }
  if (images.length > 1) throw fail(`the model has several image inputs (${images.map((i) => i.name).join(', ')}): give all but one in fixedInputs`, CLI_HINT);
  const input = images[0]!;
  requireRest(inputs, input.name, fixed);
  const [, c, h, w] = input.dims!;
  const channels = typeof c === 'number' ? c : 3;
  if (channels !== 1 && channels !== 3) throw fail(`input '${input.name}' ${formatDims(input.dims)} has ${channels} channels: images give 1 or 3`);
  const height = typeof h === 'number' ? h : undefined;
  const width = typeof w === 'number' ? w : undefined;

  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && IMAGE_EXT.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, limit);
  if (files.length === 0) throw fail(`no PNG or JPEG images in ${dir}`);
  const samples: CalibrationSample[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const img = imageToChw(await readFile(path), path, channels, height, width);
    samples.push({ ...fixed, [input.name]: new ort.Tensor('float32', img.data, [1, channels, img.height, img.width]) });
  }
  return samples;
}

/** Whether a .npy of this shape fits the input as [count, ...input dims without the batch]. */
function fits(npy: NpyArray, input: ModelInput): boolean {
  const dims = input.dims;
  if (!dims) return true;
  return npy.shape.length === dims.length && dims.every((d, axis) => axis === 0 || typeof d !== 'number' || d === npy.shape[axis]);
}

function loadNpyRows(path: string, npy: NpyArray, inputs: ModelInput[], fixed: CalibrationSample, limit: number): CalibrationSample[] {
  const shapeText = `(${npy.shape.join(', ')})`;
  const free = inputs.filter((i) => fixed[i.name] === undefined);
  if (free.length === 0) throw fail(`every model input has a value in fixedInputs: nothing takes the data of ${path}`);
  const matches = free.filter((i) => fits(npy, i));
  if (matches.length === 0) {
    const expected = free.map((i) => `'${i.name}' ${ortTypeName(i.elemType)} ${formatDims(i.dims)}`).join(' or ');
    throw fail(`${path}: shape ${shapeText} ${npy.dtype} does not fit input ${expected} (the .npy needs the sample count first, then the input's dims)`);
  }
  if (matches.length > 1) throw fail(`${path}: shape ${shapeText} fits several inputs (${matches.map((i) => i.name).join(', ')}): give all but one in fixedInputs`, CLI_HINT);
  const input = matches[0]!;
  if (input.elemType !== FLOAT) throw fail(`${path}: input '${input.name}' is ${ortTypeName(input.elemType)}; .npy calibration data feeds float32 inputs only`);
  requireRest(inputs, input.name, fixed);
  if (npy.shape.length === 0) throw fail(`${path}: a 0-d .npy holds no samples (shape ()); it needs the sample count first`);
  const count = Math.min(npy.shape[0]!, limit);
  if (count === 0) throw fail(`${path}: the .npy holds no samples (shape ${shapeText})`);
  const rowDims = npy.shape.slice(1);
  const rowSize = rowDims.reduce((a, b) => a * b, 1);
  const where = (r: number): string => `${path}: row ${r} of input '${input.name}'`;
  if (npy.dtype !== 'uint8') checkFiniteRows(npy.data.subarray(0, count * rowSize), rowSize, count, where);
  const samples: CalibrationSample[] = [];
  for (let r = 0; r < count; r++) {
    const src = npy.data.subarray(r * rowSize, (r + 1) * rowSize);
    let row: Float32Array;
    if (npy.dtype === 'float32') row = src as Float32Array;
    else if (npy.dtype === 'float64') {
      row = Float32Array.from(src);
      const over = firstNonFinite(row);
      if (over !== -1) throw new AkbError('NON_FINITE_DATA', `${where(r)} holds ${String(src[over])} at flat index ${over} of the row, beyond float32's range (±3.4e38): calibration data must fit float32`);
    } else row = Float32Array.from(src, (v) => v / 255);
    samples.push({ ...fixed, [input.name]: new ort.Tensor('float32', row, [1, ...rowDims]) });
  }
  return samples;
}

/**
 * Loads calibration samples for `model` from a folder of PNG/JPEG images or a .npy file (see the
 * module comment for the conversions). Each sample holds one row (batch 1) with every model input.
 */
export async function loadCalibrationSamples(path: string, model: Model, opts: LoadSamplesOptions = {}): Promise<CalibrationSample[]> {
  const limit = opts.limit ?? Infinity;
  if (!(limit >= 1)) throw fail(`limit must be at least 1, got ${limit}`);
  const inputs = modelInputs(model);
  const fixed = fixedTensors(inputs, opts.fixedInputs ?? {});
  let info;
  try {
    info = await stat(path);
  } catch {
    throw fail(`calibration data not found: ${path}`);
  }
  if (info.isDirectory()) return loadImages(path, inputs, fixed, limit);
  if (info.isFile() && path.toLowerCase().endsWith('.npy')) return loadNpyRows(path, await readNpy(path), inputs, fixed, limit);
  throw fail(`calibration data must be a folder of PNG/JPEG images or a .npy file: ${path}`);
}
