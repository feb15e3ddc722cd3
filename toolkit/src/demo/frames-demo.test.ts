import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded.js';
import { runFramesDemo } from './frames-demo.js';
import { GilbertElliott } from '@akb/link';
import { seededRandom } from '@akb/protocol';

describe('frames demo on the embedded broker', () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker();
  });
  afterAll(async () => {
    await broker.close();
  });

  it('delivers every frame, with each dropped fragment reported as erasures and the set SNR measured', async () => {
    // Thrown at it: bursty loss of ~15% of fragments and complex AWGN at 3 dB.
    const result = await runFramesDemo({
      brokerUrl: broker.url,
      frames: 12,
      snrDb: 3,
      mtu: 100,
      loss: { p: 0.1, r: 0.4, lossBad: 0.7, lossGood: 0.02 },
      seed: 7,
    });
    expect(result.reports.map((r) => r.frameId)).toEqual([...Array(12).keys()]);
    const lost = result.reports.reduce((s, r) => s + r.lostFragments.length, 0);
    expect(lost).toBe(result.fragmentsDropped);
    expect(result.fragmentsDropped).toBeGreaterThan(0);
    const perFragment = Math.floor((100 - 60) / 2);
    for (const r of result.reports) {
      const erasedByLost = r.lostFragments.reduce((s, i) => s + Math.min(perFragment, r.totalSymbols - i * perFragment), 0);
      expect(r.erasedSymbols).toBe(erasedByLost);
    }
    const snrs = result.reports.filter((r) => r.erasedSymbols < r.totalSymbols).map((r) => r.measuredSnrDb);
    const mean = snrs.reduce((a, b) => a + b, 0) / snrs.length;
    expect(mean).toBeGreaterThan(2.5);
    expect(mean).toBeLessThan(3.5);
    expect(result.statusLines.some((l) => l.includes('online'))).toBe(true);
    expect(result.statusLines.some((l) => l.includes('offline'))).toBe(true);
  });
});

describe('Gilbert-Elliott loss', () => {
  it('matches its stationary loss rate over a long run', () => {
    const params = { p: 0.05, r: 0.5, lossBad: 0.8, lossGood: 0.01 };
    const ge = new GilbertElliott(params, seededRandom(3));
    let lost = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) if (ge.lose()) lost++;
    expect(lost / n).toBeCloseTo(GilbertElliott.expectedLoss(params), 2);
  });
});
