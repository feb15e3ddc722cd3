/**
 * Photographs the edge's memory is measured on, made from the Kodak suite: large ones of odd size (the
 * tile grid does not divide them, so the last row and column are padded), 8-bit RGB PNG or 1-channel
 * grayscale PNG (which the decoder widens to RGBA and then to three float planes). `edgeMemoryImages` writes them to
 * a folder; `npx tsx test/edge/images.ts <folder>` does the same from the shell.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { decodeImage, type RgbImage } from '@akb/jscc';

const KODAK_DIRS = ['../../../shared/datasets/kodak', '../../models/samples/kodak'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

/** The Kodak folder: shared/datasets/kodak (all 24) when present, else the repository's two samples. */
export function kodakDir(): string {
  const dir = KODAK_DIRS.find((d) => existsSync(join(d, 'kodim05.png')) || existsSync(join(d, 'kodim23.png')));
  if (dir === undefined) throw new Error(`no Kodak images in ${KODAK_DIRS.join(' or ')}`);
  return dir;
}

export async function readKodak(name: string): Promise<RgbImage> {
  const dir = kodakDir();
  const file = existsSync(join(dir, name)) ? name : 'kodim23.png';
  return decodeImage(readFileSync(join(dir, file)), file);
}

/** Bilinear resize (corner-aligned) of planar RGB. */
export function resize(image: RgbImage, width: number, height: number): RgbImage {
  const { width: w, height: h, data } = image;
  const out = new Float32Array(3 * width * height);
  const sx = width > 1 ? (w - 1) / (width - 1) : 0;
  const sy = height > 1 ? (h - 1) / (height - 1) : 0;
  for (let y = 0; y < height; y++) {
    const fy = y * sy;
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = x * sx;
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = c * w * h;
        const top = data[p + y0 * w + x0]! * (1 - wx) + data[p + y0 * w + x1]! * wx;
        const bottom = data[p + y1 * w + x0]! * (1 - wx) + data[p + y1 * w + x1]! * wx;
        out[c * width * height + y * width + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return { width, height, data: out };
}

/** An 8-bit RGB (colour type 2, no alpha) PNG, as cameras and editors write photographs. */
export function rgbPng(image: RgbImage): Uint8Array {
  const { width, height, data } = image;
  const n = width * height;
  const rgba = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = Math.round(255 * Math.min(1, Math.max(0, data[c * n + i]!)));
    rgba[4 * i + 3] = 255;
  }
  const png = new PNG({ width, height });
  return PNG.sync.write(Object.assign(png, { data: rgba }), { colorType: 2 });
}

/** A 1-channel (colour type 0) 8-bit PNG of the image's luminance (BT.601 weights). */
export function grayscalePng(image: RgbImage): Uint8Array {
  const { width, height, data } = image;
  const n = width * height;
  const grey = Buffer.alloc(n);
  for (let i = 0; i < n; i++) grey[i] = Math.round(255 * Math.min(1, Math.max(0, 0.299 * data[i]! + 0.587 * data[n + i]! + 0.114 * data[2 * n + i]!)));
  const options = { width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false } as const;
  const png = new PNG(options);
  return PNG.sync.write(Object.assign(png, { data: grey }), options);
}

/** The first bytes of a PNG say its size and colour type: what the decoder will be given. */
export function pngHeader(bytes: Uint8Array): { width: number; height: number; colorType: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20), colorType: bytes[25]! };
}

export interface MemoryImage {
  name: string;
  width: number;
  height: number;
  grayscale: boolean;
  /** Kodak image it was made from. */
  from: string;
}

/**
 * Ten larger photographs as the issue describes them: odd sizes (none a multiple of 32), landscape and
 * portrait, colour and 1-channel grayscale, up to 1531x1023 (1.57 Mpixel, 1,536 tiles).
 */
export const MEMORY_IMAGES: readonly MemoryImage[] = [
  { name: 'a-1531x1023.png', width: 1531, height: 1023, grayscale: false, from: 'kodim05.png' },
  { name: 'b-1531x1023-grey.png', width: 1531, height: 1023, grayscale: true, from: 'kodim23.png' },
  { name: 'c-1023x1531.png', width: 1023, height: 1531, grayscale: false, from: 'kodim04.png' },
  { name: 'd-1279x853-grey.png', width: 1279, height: 853, grayscale: true, from: 'kodim08.png' },
  { name: 'e-1201x799.png', width: 1201, height: 799, grayscale: false, from: 'kodim13.png' },
  { name: 'f-999x1499-grey.png', width: 999, height: 1499, grayscale: true, from: 'kodim09.png' },
  { name: 'g-1457x971.png', width: 1457, height: 971, grayscale: false, from: 'kodim21.png' },
  { name: 'h-1531x1021-grey.png', width: 1531, height: 1021, grayscale: true, from: 'kodim01.png' },
  { name: 'i-1103x735.png', width: 1103, height: 735, grayscale: false, from: 'kodim15.png' },
  { name: 'j-1517x1011-grey.png', width: 1517, height: 1011, grayscale: true, from: 'kodim20.png' },
];

/** Writes `images` (default: all ten) as PNG files into `dir`; returns their paths. */
export async function edgeMemoryImages(dir: string, images: readonly MemoryImage[] = MEMORY_IMAGES): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const spec of images) {
    const image = resize(await readKodak(spec.from), spec.width, spec.height);
    const bytes = spec.grayscale ? grayscalePng(image) : rgbPng(image);
    const path = join(dir, spec.name);
    await writeFile(path, bytes);
    paths.push(path);
  }
  return paths;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: npx tsx test/edge/images.ts <folder>');
  for (const p of await edgeMemoryImages(dir)) process.stdout.write(`${p}\n`);
}
