/**
 * Complex additive white Gaussian noise at an SNR in dB, the Deep JSCC convention: the transmitted
 * symbols are assumed to have unit average power (the encoder normalizes z to sqrt(k / ||z||²) z), so
 * the noise variance per complex symbol is σ² = 10^(−SNR/10), σ²/2 on I and σ²/2 on Q. A signal of
 * another average power P sees an SNR of 10 log10(P / σ²) instead: the noise does not follow the signal.
 */
import { complexGaussian, type RandomSource } from './random.js';

/** Noise variance per complex symbol, σ² = 10^(−snrDb/10), for a unit-power signal. */
export function noiseVariance(snrDb: number): number {
  return 10 ** (-snrDb / 10);
}

/** dB of a power ratio; −Infinity for 0. */
export function toDb(ratio: number): number {
  return 10 * Math.log10(ratio);
}

/**
 * Adds CN(0, σ²) noise to interleaved I,Q values in place (σ² from `snrDb`) and returns them: each of I
 * and Q gets an independent N(0, σ²/2) draw (both outputs of one Box–Muller pair). Only the first `count`
 * values (all by default) are symbols sent; the rest stay as they are.
 */
export function addAwgn(values: Float32Array, snrDb: number, random: RandomSource, count = values.length): Float32Array {
  const std = Math.sqrt(noiseVariance(snrDb) / 2);
  const end = Math.min(count, values.length);
  for (let i = 0; i + 1 < end; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    values[i] = values[i]! + radius * Math.cos(angle);
    values[i + 1] = values[i + 1]! + radius * Math.sin(angle);
  }
  return values;
}

/** Average power per complex symbol of interleaved I,Q values (0 for none). */
export function averagePower(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return values.length === 0 ? 0 : sum / (values.length / 2);
}

/**
 * The SNR in dB of `received` against the `sent` symbols (interleaved I,Q): average power of `sent`
 * over the average power of the difference. Only symbols where `mask` (one byte per complex symbol) is
 * non-zero count, when given. +Infinity when nothing differs.
 */
export function measureSnrDb(sent: Float32Array, received: Float32Array, mask?: Uint8Array): number {
  let signal = 0;
  let noise = 0;
  for (let s = 0; 2 * s + 1 < sent.length && 2 * s + 1 < received.length; s++) {
    if (mask !== undefined && !mask[s]) continue;
    for (const j of [2 * s, 2 * s + 1]) {
      const d = received[j]! - sent[j]!;
      signal += sent[j]! * sent[j]!;
      noise += d * d;
    }
  }
  return noise > 0 ? toDb(signal / noise) : Number.POSITIVE_INFINITY;
}

/**
 * `count` complex Gaussian symbols (interleaved I,Q) normalized to unit average power per symbol, as a
 * JSCC encoder's per-image power normalization leaves them: a stand-in for an encoder's output.
 */
export function unitPowerSymbols(count: number, random: RandomSource): Float32Array {
  const v = new Float32Array(2 * count);
  for (let s = 0; s < count; s++) {
    const z = complexGaussian(random);
    v[2 * s] = z.re;
    v[2 * s + 1] = z.im;
  }
  const k = Math.sqrt(1 / averagePower(v));
  return v.map((x) => x * k);
}
