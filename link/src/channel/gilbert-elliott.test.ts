import { describe, expect, it } from 'vitest';
import { GilbertElliott, parseGilbertElliott } from './gilbert-elliott.js';
import { seededRandom } from '@akb/protocol';

describe('Gilbert-Elliott loss', () => {
  it('loses the long-run fraction pi_bad * lossBad + pi_good * lossGood', () => {
    // Thrown at it: 200 000 packets through netem's "gemodel 5% 30% 90% 1%".
    const params = { p: 0.05, r: 0.3, lossBad: 0.9, lossGood: 0.01 };
    const ge = new GilbertElliott(params, seededRandom(11));
    let lost = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) if (ge.lose()) lost++;
    const expected = GilbertElliott.expectedLoss(params);
    expect(expected).toBeCloseTo((0.05 / 0.35) * 0.9 + (0.3 / 0.35) * 0.01, 12);
    expect(Math.abs(lost / n - expected)).toBeLessThan(0.01);
  });

  it('loses in bursts of mean length 1/r when only the bad state loses', () => {
    const ge = new GilbertElliott({ p: 0.1, r: 0.25, lossBad: 1, lossGood: 0 }, seededRandom(2));
    const bursts: number[] = [];
    let run = 0;
    for (let i = 0; i < 200_000; i++) {
      if (ge.lose()) run++;
      else if (run > 0) {
        bursts.push(run);
        run = 0;
      }
    }
    const mean = bursts.reduce((a, b) => a + b, 0) / bursts.length;
    expect(Math.abs(mean - 4)).toBeLessThan(0.15);
  });

  it('never loses with p = 0 and lossGood = 0; expects 0 loss for a chain that never moves', () => {
    const ge = new GilbertElliott({ p: 0, r: 0, lossBad: 1, lossGood: 0 }, seededRandom(1));
    for (let i = 0; i < 1000; i++) expect(ge.lose()).toBe(false);
    expect(GilbertElliott.expectedLoss({ p: 0, r: 0, lossBad: 1, lossGood: 0.5 })).toBe(0.5);
  });

  it('parses "p,r,lossBad,lossGood" as probabilities or netem percentages, refusing anything else', () => {
    expect(parseGilbertElliott('0.05,0.5,0.8,0.01')).toEqual({ p: 0.05, r: 0.5, lossBad: 0.8, lossGood: 0.01 });
    expect(parseGilbertElliott('5%, 50%, 80%, 1%')).toEqual({ p: 0.05, r: 0.5, lossBad: 0.8, lossGood: 0.01 });
    // Thrown at it: too few numbers, text, a probability above 1, an empty field.
    for (const bad of ['0.1,0.2', 'a,b,c,d', '0.1,0.2,1.5,0', '0.1,,0.2,0.3']) {
      expect(() => parseGilbertElliott(bad)).toThrow(expect.objectContaining({ code: 'INVALID_LOSS_MODEL' }) as Error);
    }
    expect(() => new GilbertElliott({ p: -1, r: 0, lossBad: 0, lossGood: 0 }, seededRandom(1))).toThrow(/not a probability/);
  });
});
