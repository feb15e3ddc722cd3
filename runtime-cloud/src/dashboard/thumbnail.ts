/**
 * Thumbnails of reconstructions for the dashboard: the image shrunk by averaging whole boxes of source
 * pixels (area resampling, which keeps a JSCC reconstruction's noise from aliasing into patterns) to at
 * most THUMBNAIL_SIDE pixels on its longer side, then PNG. An image already that small is kept as is.
 */
import { encodePng, type RgbImage } from '@akb/jscc';

export const THUMBNAIL_SIDE = 256;

/** The image scaled down to fit `side` x `side`, aspect kept (each side at least 1 pixel). */
export function shrink(image: RgbImage, side = THUMBNAIL_SIDE): RgbImage {
  const { width, height, data } = image;
  const scale = Math.max(width, height) / side;
  if (scale <= 1) return image;
  const w = Math.max(1, Math.round(width / scale));
  const h = Math.max(1, Math.round(height / scale));
  const out = new Float32Array(3 * w * h);
  const n = width * height;
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * height) / h);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * width) / w);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / w));
      const count = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) {
          const row = c * n + yy * width;
          for (let xx = x0; xx < x1; xx++) sum += data[row + xx]!;
        }
        out[c * w * h + y * w + x] = sum / count;
      }
    }
  }
  return { width: w, height: h, data: out };
}

/** PNG bytes of the image shrunk to fit THUMBNAIL_SIDE. */
export function thumbnail(image: RgbImage, side = THUMBNAIL_SIDE): Promise<Uint8Array> {
  return encodePng(shrink(image, side));
}
