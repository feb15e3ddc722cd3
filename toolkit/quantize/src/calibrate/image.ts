/**
 * Images as model input: PNG (pngjs) or JPEG (jpeg-js, strict decoding, colour as libjpeg-turbo makes it:
 * @akb/jscc/image) to planar float32 in [0, 1]
 * (byte / 255), in channel-first (CHW) order, RGB or grayscale, resized to the input's height and width.
 *
 * - The format is told by the file's magic bytes, not its extension.
 * - Alpha is dropped (not composited). Grayscale from RGB is ITU-R BT.601 luma
 *   (0.299 R + 0.587 G + 0.114 B, as PIL's convert('L')); a grayscale image feeds an RGB input with
 *   its value in all three channels.
 * - Resizing is bilinear with half-pixel centres and edge clamping, without antialiasing: PyTorch's
 *   `F.interpolate(mode='bilinear', align_corners=False)`, applied to the [0, 1] float planes.
 */
import { AkbError } from '@akb/protocol';
import { jpegLayout, ycbcrToPlanarRgb } from '@akb/jscc';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** A decoded image: interleaved RGBA bytes. */
interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split(/\r?\n/)[0]?.trim() || 'unknown error';
}

/** Decodes PNG or JPEG bytes to RGBA; `source` names the file in errors. */
export function decodeImage(bytes: Uint8Array, source: string): Rgba {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!isPng && !isJpeg) throw new AkbError('BAD_CALIBRATION_DATA', `cannot decode ${source}: not a PNG or JPEG file`);
  let img: Rgba;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      img = { width: png.width, height: png.height, data: png.data };
    } else {
      img = decodeJpeg(bytes);
    }
  } catch (e) {
    throw new AkbError('BAD_CALIBRATION_DATA', `cannot decode ${source}: ${firstLine(e)}`, { cause: e });
  }
  if (!(img.width > 0 && img.height > 0) || img.data.length < img.width * img.height * 4) {
    throw new AkbError('BAD_CALIBRATION_DATA', `cannot decode ${source}: empty or incomplete image`);
  }
  return img;
}

/**
 * JPEG to RGBA with libjpeg-turbo's chroma upsampling and colour conversion (what PIL, and so the
 * models' training data, gives): jpeg-js's own conversion replicates chroma (1.9 levels off on average).
 */
function decodeJpeg(bytes: Uint8Array): Rgba {
  const layout = jpegLayout(bytes);
  const ycc = layout?.components.length === 3 && layout.components.map((c) => String.fromCharCode(c.id)).join('') !== 'RGB';
  if (!ycc) {
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false });
    return { width: j.width, height: j.height, data: j.data };
  }
  const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, colorTransform: false, tolerantDecoding: false });
  const n = j.width * j.height;
  const planes = ycbcrToPlanarRgb(j.data, j.width, j.height, layout);
  const data = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    data[4 * i] = Math.round(planes[i]! * 255);
    data[4 * i + 1] = Math.round(planes[n + i]! * 255);
    data[4 * i + 2] = Math.round(planes[2 * n + i]! * 255);
    data[4 * i + 3] = 255;
  }
  return { width: j.width, height: j.height, data };
}

/** RGBA bytes to CHW float planes in [0, 1] with 1 (luma) or 3 (RGB) channels. */
function toPlanes(img: Rgba, channels: 1 | 3): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(channels * n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const r = d[4 * i]! / 255;
    const g = d[4 * i + 1]! / 255;
    const b = d[4 * i + 2]! / 255;
    if (channels === 3) {
      out[i] = r;
      out[n + i] = g;
      out[2 * n + i] = b;
    } else {
      out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    }
  }
  return out;
}

/** Bilinear resize of CHW planes (half-pixel centres, clamped edges, no antialiasing). */
export function resizeBilinear(src: Float32Array, channels: number, inH: number, inW: number, outH: number, outW: number): Float32Array {
  if (inH === outH && inW === outW) return src;
  const out = new Float32Array(channels * outH * outW);
  const sy = inH / outH;
  const sx = inW / outW;
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const wxs = new Float64Array(outW);
  for (let x = 0; x < outW; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(Math.floor(fx), inW - 1);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, inW - 1);
    wxs[x] = fx - x0;
  }
  for (let c = 0; c < channels; c++) {
    const base = c * inH * inW;
    const obase = c * outH * outW;
    for (let y = 0; y < outH; y++) {
      const fy = Math.max(0, (y + 0.5) * sy - 0.5);
      const y0 = Math.min(Math.floor(fy), inH - 1);
      const y1 = Math.min(y0 + 1, inH - 1);
      const wy = fy - y0;
      const r0 = base + y0 * inW;
      const r1 = base + y1 * inW;
      for (let x = 0; x < outW; x++) {
        const x0 = x0s[x]!;
        const x1 = x1s[x]!;
        const wx = wxs[x]!;
        const top = src[r0 + x0]! * (1 - wx) + src[r0 + x1]! * wx;
        const bottom = src[r1 + x0]! * (1 - wx) + src[r1 + x1]! * wx;
        out[obase + y * outW + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/**
 * An image file's bytes as a CHW float32 tensor body in [0, 1]: `channels` 1 or 3, resized to
 * height × width (undefined keeps the image's own size). Returns the data and its height and width.
 */
export function imageToChw(
  bytes: Uint8Array,
  source: string,
  channels: 1 | 3,
  height: number | undefined,
  width: number | undefined,
): { data: Float32Array; height: number; width: number } {
  const img = decodeImage(bytes, source);
  const planes = toPlanes(img, channels);
  const h = height ?? img.height;
  const w = width ?? img.width;
  return { data: resizeBilinear(planes, channels, img.height, img.width, h, w), height: h, width: w };
}
