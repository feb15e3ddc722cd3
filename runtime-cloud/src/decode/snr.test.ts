import { describe, expect, it } from 'vitest';
import { awgnChannel, gaussian } from '../testing.js';
import { clampDb, estimateSnr } from './snr.js';

/** A unit-power latent of `n` complex symbols (squares sum to n, as the encoder normalizes). */
function latent(n: number, normal: () => number): Float32Array {
  const x = Float32Array.from({ length: 2 * n }, () => normal());
  let s = 0;
  for (const v of x) s += v * v;
  const k = Math.sqrt(n / s);
  return x.map((v) => v * k);
}

describe('blind SNR estimate', () => {
  it.each([0, 5, 10])('is within 0.5 dB at %i dB on 240 symbols, averaged over 400 frames, at every power action', (snrDb) => {
    // Thrown at it: 400 frames of 240 symbols per power offset, noise at the channel SNR for unit power.
    const normal = gaussian(1000 + snrDb);
    for (const powerDb of [-3, 0, 3]) {
      let sum = 0;
      const frames = 400;
      for (let f = 0; f < frames; f++) {
        const rx = awgnChannel(latent(240, normal), 240, powerDb, snrDb, normal);
        sum += estimateSnr(rx, powerDb).snrDb;
      }
      // The effective SNR the decoder sees is the channel SNR plus the power offset.
      expect(Math.abs(sum / frames - (snrDb + powerDb))).toBeLessThan(0.5);
    }
  });

  it('ignores erased symbols and reports the floor when nothing arrived', () => {
    const normal = gaussian(7);
    const rx = awgnChannel(latent(240, normal), 240, 0, 5, normal);
    const mask = new Uint8Array(240).fill(1);
    for (let i = 120; i < 240; i++) {
      mask[i] = 0;
      rx[2 * i] = 0;
      rx[2 * i + 1] = 0;
    }
    const half = estimateSnr(rx, 0, mask);
    expect(half.symbols).toBe(120);
    expect(half.snrDb).toBeGreaterThan(1);
    expect(half.snrDb).toBeLessThan(9);
    expect(estimateSnr(rx, 0, new Uint8Array(240)).snrDb).toBe(-30);
  });

  it('stays finite when the received power does not exceed the signal power', () => {
    // Thrown at it: 240 noiseless unit symbols (no measurable noise): the SNR is capped near 10 log10(n).
    const clean = new Float32Array(480).fill(Math.SQRT1_2);
    const { snrDb } = estimateSnr(clean, 0);
    expect(snrDb).toBeGreaterThan(15);
    expect(snrDb).toBeLessThan(10 * Math.log10(240));
    expect(clampDb(snrDb, { min: -2, max: 7 })).toBe(7);
  });
});
