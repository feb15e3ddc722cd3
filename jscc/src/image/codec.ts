/**
 * Images in and out: PNG and JPEG of any size and channel count become planar RGB float32 in [0, 1]
 * (grayscale is replicated to three channels, alpha is dropped); PNG out for reports. Pure JavaScript
 * (pngjs, jpeg-js), so it runs wherever the edge runs, a 32-bit Pi included. JPEG colour comes out as
 * libjpeg-turbo's (jpeg.ts), which the reference models were trained on.
 */
import { AkbError } from '@akb/protocol';
import { jpegLayout, ycbcrToPlanarRgb } from './jpeg.js';

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** Planar RGB (CHW), values in [0, 1], length 3 * width * height. */
  readonly data: Float32Array;
}

/** Largest image accepted, in pixels (a 64-megapixel photo); bounds memory on hostile input. */
export const MAX_PIXELS = 64 * 1024 * 1024;

export async function decodeImage(bytes: Uint8Array, what = 'image'): Promise<RgbImage> {
  const kind = sniff(bytes);
  if (kind === undefined) {
    throw new AkbError('BAD_IMAGE', `${what} is neither PNG nor JPEG`, { hint: 'send PNG or JPEG bytes' });
  }
  try {
    return kind === 'png' ? await decodePng(bytes) : await decodeJpeg(bytes);
  } catch (e) {
    if (e instanceof AkbError) throw e;
    throw new AkbError('BAD_IMAGE', `${what}: corrupt ${kind.toUpperCase()} (${(e as Error).message.slice(0, 200)})`, { cause: e });
  }
}

function sniff(b: Uint8Array): 'png' | 'jpeg' | undefined {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  return undefined;
}

// The codecs load on first use (so `--help` stays instant), then decoding is synchronous.
let pngjs: typeof import('pngjs') | undefined;
let jpegJs: typeof import('jpeg-js') | undefined;

async function decodePng(bytes: Uint8Array): Promise<RgbImage> {
  const { PNG } = (pngjs ??= await import('pngjs'));
  // pngjs expands palette, grayscale and 16-bit images to 8-bit RGBA.
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  checkSize(png.width, png.height);
  return fromInterleaved(png.data, png.width, png.height, 4);
}

async function decodeJpeg(bytes: Uint8Array): Promise<RgbImage> {
  const jpeg = (jpegJs ??= await import('jpeg-js'));
  const layout = jpegLayout(bytes);
  // Three components that are not named R, G, B are YCbCr: converted here as libjpeg does (jpeg.ts).
  const ycc = layout?.components.length === 3 && layout.components.map((c) => String.fromCharCode(c.id)).join('') !== 'RGB';
  const opts = { useTArray: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 } as const;
  if (ycc) {
    const out = jpeg.decode(bytes, { ...opts, formatAsRGBA: false, colorTransform: false });
    checkSize(out.width, out.height);
    return { width: out.width, height: out.height, data: ycbcrToPlanarRgb(out.data, out.width, out.height, layout) };
  }
  const out = jpeg.decode(bytes, { ...opts, formatAsRGBA: true });
  checkSize(out.width, out.height);
  return fromInterleaved(out.data, out.width, out.height, 4);
}

function checkSize(width: number, height: number): void {
  if (!(width > 0 && height > 0) || width * height > MAX_PIXELS) {
    throw new AkbError('BAD_IMAGE', `image of ${width}x${height} pixels is empty or larger than ${MAX_PIXELS} pixels`);
  }
}

function fromInterleaved(src: Uint8Array, width: number, height: number, stride: number): RgbImage {
  const n = width * height;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    data[i] = src[i * stride]! / 255;
    data[n + i] = src[i * stride + 1]! / 255;
    data[2 * n + i] = src[i * stride + 2]! / 255;
  }
  return { width, height, data };
}

/** PNG bytes of an image (values clamped to [0, 1] and rounded to 8 bits). */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  const { PNG } = await import('pngjs');
  const { width, height, data } = image;
  const png = new PNG({ width, height });
  const n = width * height;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = Math.round(Math.min(1, Math.max(0, data[c * n + i]!)) * 255);
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}
