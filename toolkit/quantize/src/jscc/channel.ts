/**
 * The AWGN channel of the JSCC evaluation: the seeded RNG and the AWGN convention come from `@akb/jscc`
 * (the one definition the models, the edge's channel models and the cloud share: unit average power per
 * complex symbol, σ² = 10^(−SNR/10), the noise not following the signal, so a quantized encoder whose output
 * power drifts sees the SNR a real transmitter would). Here: a seed per (row, SNR) and a clipped PSNR.
 */
export { addAwgn, seededRandom, type RandomSource } from '@akb/jscc';

/** A seed for one (row, SNR) pair of a run, so every pipeline sees the same noise on the same image. */
export function rowSeed(seed: number, row: number, snrDb: number): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (const v of [row, Math.round(snrDb * 1000)]) {
    h = Math.imul(h ^ (v & 0xffff), 0x01000193) >>> 0;
    h = Math.imul(h ^ ((v >>> 16) & 0xffff), 0x01000193) >>> 0;
  }
  return h;
}

/**
 * PSNR in dB of `test[offset .. offset + reference.length)` against `reference`, images in [0, 1] (the
 * test values are clipped to [0, 1], as a reconstruction becomes pixels).
 */
export function psnrDb(reference: Float32Array, test: Float32Array, offset = 0): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const t = Math.min(1, Math.max(0, test[offset + i]!));
    const d = reference[i]! - t;
    sum += d * d;
  }
  const mse = sum / reference.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(1 / mse);
}
