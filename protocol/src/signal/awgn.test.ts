import { describe, expect, it } from 'vitest';
import { addAwgn, measureSnrDb, noiseVariance, unitPowerSymbols } from './awgn.js';
import { seededRandom } from './random.js';


describe('complex AWGN', () => {
  it('has variance 10^(-SNR/10) per complex symbol, half on I and half on Q', () => {
    // Thrown at it: 200 000 zero symbols at 7 dB; the noise is then all that is received.
    const n = 200_000;
    const y = addAwgn(new Float32Array(2 * n), 7, seededRandom(3));
    let i2 = 0;
    let q2 = 0;
    let iq = 0;
    for (let s = 0; s < n; s++) {
      i2 += y[2 * s]! ** 2;
      q2 += y[2 * s + 1]! ** 2;
      iq += y[2 * s]! * y[2 * s + 1]!;
    }
    const sigma2 = noiseVariance(7);
    expect(sigma2).toBeCloseTo(0.19953, 5);
    expect(i2 / n / (sigma2 / 2)).toBeCloseTo(1, 1);
    expect(Math.abs(i2 / n / (sigma2 / 2) - 1)).toBeLessThan(0.02);
    expect(Math.abs(q2 / n / (sigma2 / 2) - 1)).toBeLessThan(0.02);
    expect(Math.abs(iq / n)).toBeLessThan(0.005); // I and Q independent
  });

  it('gives the set SNR on unit-power symbols, within 0.1 dB', () => {
    const sent = unitPowerSymbols(100_000, seededRandom(5));
    for (const snr of [-5, 0, 10, 20]) {
      const rx = addAwgn(sent.slice(), snr, seededRandom(snr + 100));
      expect(Math.abs(measureSnrDb(sent, rx) - snr)).toBeLessThan(0.1);
    }
  });

  it('measures only the symbols a mask keeps, and +Infinity when nothing differs', () => {
    const sent = new Float32Array([1, 0, 0, 1]);
    const rx = new Float32Array([1, 0, 5, 5]);
    expect(measureSnrDb(sent, rx, new Uint8Array([1, 0]))).toBe(Number.POSITIVE_INFINITY);
    expect(measureSnrDb(sent, rx)).toBeLessThan(0);
  });
});
