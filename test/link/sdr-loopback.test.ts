/**
 * The sdr-udp burst format end to end in Node: modulateFrame → impairments (AWGN at 0, 5 and 10 dB, a
 * frequency offset, a phase, a timing offset of leading noise) → Synchronizer. Reports the sync success
 * rate and the SNR estimate's error; checks the equalized symbols carry the configured noise.
 */
import { describe, expect, it } from 'vitest';
import { decodeFrame, seededRandom } from '@akb/protocol';
import { Synchronizer, modulateFrame } from '@akb/link';
import { impair, symbolFrame } from './sdr-support.js';

describe('sdr burst loopback', () => {
  it('rebuilds the frame exactly without noise, header fields and symbols', () => {
    const rand = seededRandom(1);
    const { frame, values } = symbolFrame(300, 1, rand);
    const sync = new Synchronizer();
    const got = sync.push(impair(modulateFrame(frame), { snrDb: 200, lead: 100 }, rand));
    expect(got).toHaveLength(1);
    const { header, payload } = decodeFrame(got[0]!.frame);
    expect(header).toMatchObject({ frameId: 1, deviceId: 7, actionId: 3, totalSymbols: 300, dtype: 'float32', timestampUs: 1001 });
    expect(payload.length).toBe(2400);
    for (let i = 0; i < values.length; i++) expect(got[0]!.values[i]).toBeCloseTo(values[i]!, 4);
    expect(got[0]!.sampleIndex).toBe(100);
  });

  it('corrects offsets up to the documented ±0.0035 cycles/sample at 10 dB', () => {
    const rand = seededRandom(77);
    for (const cfo of [0.0035, -0.0035]) {
      const { frame } = symbolFrame(400, 1, rand);
      const got = new Synchronizer().push(impair(modulateFrame(frame), { snrDb: 10, cfo, lead: 300 }, rand));
      expect(got).toHaveLength(1);
      expect(got[0]!.cfo).toBeCloseTo(cfo, 4);
    }
  });

  for (const snrDb of [0, 5, 10]) {
    it(`synchronizes at ${snrDb} dB with offset, phase and timing impairments; SNR estimate within 1 dB on average`, () => {
      const rand = seededRandom(100 + snrDb);
      const trials = 40;
      let synced = 0;
      let errSum = 0;
      let mseSum = 0;
      for (let t = 0; t < trials; t++) {
        const { frame, values } = symbolFrame(512, t, rand);
        const imp = { snrDb, cfo: (rand() - 0.5) * 0.006, phase: rand() * 2 * Math.PI, gain: 0.2 + rand(), lead: Math.floor(rand() * 2000) };
        const sync = new Synchronizer();
        const got = sync.push(impair(modulateFrame(frame), imp, rand));
        const hit = got.find((b) => b.header.frameId === t);
        if (hit === undefined) continue;
        synced++;
        expect(hit.sampleIndex).toBe(imp.lead);
        errSum += hit.snrDb - snrDb;
        let mse = 0;
        for (let i = 0; i < values.length; i++) mse += (hit.values[i]! - values[i]!) ** 2;
        mseSum += mse / (values.length / 2);
      }
      const rate = synced / trials;
      const meanErr = errSum / synced;
      const measuredSnr = -10 * Math.log10(mseSum / synced);
      console.log(`sdr loopback ${snrDb} dB: sync ${synced}/${trials}, SNR estimate error mean ${meanErr.toFixed(2)} dB, symbol SNR after equalization ${measuredSnr.toFixed(2)} dB`);
      expect(rate).toBeGreaterThanOrEqual(snrDb === 0 ? 0.9 : 1);
      expect(Math.abs(meanErr)).toBeLessThan(1);
      // equalization costs little: the symbols' own SNR within 0.5 dB of the channel's
      expect(measuredSnr).toBeGreaterThan(snrDb - 0.5);
    });
  }
});
