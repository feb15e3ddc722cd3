/** Reconstruction quality of images in [0, 1]. */

export function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s / a.length;
}

/** PSNR in dB for images in [0, 1]; Infinity for identical images. */
export function psnr(a: Float32Array, b: Float32Array): number {
  const m = mse(a, b);
  return m === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(1 / m);
}
