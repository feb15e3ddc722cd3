/**
 * Calibration data for quantizing an AKB encoder, whose inputs (image, prior, snr_db, length) no image
 * folder gives: a folder of one .npy per input, as `akb quantize --calib <folder>` reads it. Rows: the
 * plan's images (their top-left 32 x 32 tile), the source KB's priors taken in turn (the range of what the
 * edge feeds), SNRs across the encoder's range and lengths across 1..max symbols.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelSet, RgbImage } from '@akb/jscc';

/** A float32 C-order .npy (format 1.0). */
export function npyFloat32(shape: readonly number[], data: Float32Array): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = `${header}${' '.repeat(pad % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Writes the calibration folder for `set`'s AKB encoder; undefined when the encoder takes images alone (or no image fits). */
export async function akbCalibration(set: ModelSet, images: readonly RgbImage[], dir: string, limit = 64): Promise<string | undefined> {
  const names = set.encoder.card.inputs.map((i) => i.name);
  if (!names.includes('prior') || set.kb === undefined) return undefined;
  const side = 32;
  const usable = images.filter((i) => i.width >= side && i.height >= side).slice(0, limit);
  if (usable.length === 0) return undefined;
  const n = usable.length;
  const px = 3 * side * side;
  const image = new Float32Array(n * px);
  const prior = new Float32Array(n * px);
  const snr = new Float32Array(n);
  const length = new Float32Array(n);
  usable.forEach((img, r) => {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) image[r * px + c * side * side + y * side + x] = img.data[c * img.width * img.height + y * img.width + x]!;
      }
    }
    const k = r % set.kb!.size;
    prior.set(set.kb!.priors.subarray(k * px, (k + 1) * px), r * px);
    snr[r] = -2 + (22 * r) / Math.max(1, n - 1);
    length[r] = Math.max(1, Math.round((set.maxSymbols * (r + 1)) / n));
  });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'image.npy'), npyFloat32([n, 3, side, side], image));
  await writeFile(join(dir, 'prior.npy'), npyFloat32([n, 3, side, side], prior));
  if (names.includes('snr_db')) await writeFile(join(dir, 'snr_db.npy'), npyFloat32([n, 1], snr));
  if (names.includes('length')) await writeFile(join(dir, 'length.npy'), npyFloat32([n, 1], length));
  return dir;
}
