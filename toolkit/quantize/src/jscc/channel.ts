/**
 * The AWGN channel of the JSCC evaluation, with the conventions of runtime-edge's channel module
 * (runtime-edge/src/channel/awgn.ts and random.ts), repeated here so this package does not depend on the
 * edge runtime: the encoder power-normalizes each image to unit average power per complex symbol, the
 * noise variance per complex symbol is σ² = 10^(−SNR/10) (σ²/2 on I and on Q, both outputs of one
 * Box–Muller pair), and the noise does not follow the signal: a quantized encoder whose output power
 * drifts sees the SNR a real transmitter would. Every draw comes from a seeded mulberry32 stream.
 */

/** Uniform draws in [0, 1). */
export type RandomSource = () => number;

/** mulberry32 (period 2^32), the generator of runtime-edge's seededRandom. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
 * Adds CN(0, 10^(−snrDb/10)) noise to the first `count` interleaved I/Q values of `values` (all of them
 * by default) in place; values past `count` (symbols not sent) stay as they are. Returns `values`.
 */
export function addAwgn(values: Float32Array, snrDb: number, random: RandomSource, count = values.length): Float32Array {
  const std = Math.sqrt(10 ** (-snrDb / 10) / 2);
  const end = Math.min(count, values.length);
  for (let i = 0; i + 1 < end; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    values[i] = values[i]! + radius * Math.cos(angle);
    values[i + 1] = values[i + 1]! + radius * Math.sin(angle);
  }
  return values;
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
