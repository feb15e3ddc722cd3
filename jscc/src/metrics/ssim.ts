/**
 * SSIM (Wang et al. 2004) exactly as the reference models were evaluated (models/common/metrics.py): an
 * 11x11 Gaussian window (σ = 1.5, normalized), the valid region only (no padding), C1 = 0.01², C2 = 0.03²
 * for values in [0, 1], computed per channel and averaged over channels and positions. The window is
 * separable, so each local mean costs 22 multiply-adds instead of 121.
 */
import { AkbError } from '@akb/protocol';

const SIZE = 11;
const SIGMA = 1.5;
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

const WINDOW: Float64Array = (() => {
  const g = new Float64Array(SIZE);
  let sum = 0;
  for (let i = 0; i < SIZE; i++) {
    const x = i - (SIZE - 1) / 2;
    g[i] = Math.exp((-x * x) / (2 * SIGMA * SIGMA));
    sum += g[i]!;
  }
  return g.map((v) => v / sum);
})();

/** Valid-region Gaussian filter of one plane (w x h) into (w - 10) x (h - 10). */
function blur(plane: Float64Array, w: number, h: number): Float64Array {
  const ow = w - SIZE + 1;
  const oh = h - SIZE + 1;
  const rows = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < SIZE; k++) s += WINDOW[k]! * plane[y * w + x + k]!;
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < SIZE; k++) s += WINDOW[k]! * rows[(y + k) * ow + x]!;
      out[y * ow + x] = s;
    }
  }
  return out;
}

/**
 * Mean SSIM of two planar (CHW) images of `channels` planes of `width` x `height`, values in [0, 1].
 * Both sides must be at least 11 pixels: the window has no valid position in a smaller image.
 */
export function ssim(a: Float32Array, b: Float32Array, width: number, height: number, channels = 3): number {
  const plane = width * height;
  if (a.length !== channels * plane || b.length !== channels * plane) {
    throw new AkbError('BAD_INPUT', `ssim: images must be ${channels} x ${height} x ${width} (got ${a.length} and ${b.length} values)`);
  }
  if (width < SIZE || height < SIZE) {
    throw new AkbError('BAD_INPUT', `ssim: images must be at least ${SIZE} x ${SIZE} pixels (got ${width} x ${height})`);
  }
  let total = 0;
  let count = 0;
  for (let c = 0; c < channels; c++) {
    const x = new Float64Array(plane);
    const y = new Float64Array(plane);
    const xx = new Float64Array(plane);
    const yy = new Float64Array(plane);
    const xy = new Float64Array(plane);
    for (let i = 0; i < plane; i++) {
      const u = a[c * plane + i]!;
      const v = b[c * plane + i]!;
      x[i] = u;
      y[i] = v;
      xx[i] = u * u;
      yy[i] = v * v;
      xy[i] = u * v;
    }
    const [mx, my, sxx, syy, sxy] = [x, y, xx, yy, xy].map((p) => blur(p, width, height)) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    for (let i = 0; i < mx.length; i++) {
      const ux = mx[i]!;
      const uy = my[i]!;
      const vx = sxx[i]! - ux * ux;
      const vy = syy[i]! - uy * uy;
      const cxy = sxy[i]! - ux * uy;
      total += ((2 * ux * uy + C1) * (2 * cxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
      count++;
    }
  }
  return total / count;
}
