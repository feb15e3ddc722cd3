/**
 * The sdr-udp burst format end to end in Node: modulateFrame → impairments (AWGN at 0, 5 and 10 dB, a
 * frequency offset, a phase, a timing offset of leading noise) → Synchronizer. Reports the sync success
 * rate and the SNR estimate's error; checks the equalized symbols carry the configured noise.
 */
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, packSymbols, seededRandom } from '@akb/protocol';
import { Synchronizer, modulateFrame } from '../../link/src/sdr/index.js';

export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** A float32 frame of `n` unit-power complex symbols. */
export function symbolFrame(n: number, frameId: number, rand: () => number): { frame: Uint8Array; values: Float32Array } {
  const g = gaussian(rand);
  const values = new Float32Array(2 * n);
  for (let i = 0; i < values.length; i++) values[i] = g() * Math.SQRT1_2;
  const frame = encodeFrame(
    { dtype: 'float32', hasKbEntry: false, endOfSession: false, actionId: 3, deviceId: 7, sessionId: 1, frameId, fragmentIndex: 0, fragmentCount: 1, kbVersion: 0, kbEntry: 0, totalSymbols: n, symbolOffset: 0, scale: 1, timestampUs: 1000 + frameId },
    packSymbols(values, 'float32').payload,
  );
  return { frame, values };
}

export interface Impairments {
  snrDb: number;
  /** cycles per sample */
  cfo?: number;
  phase?: number;
  gain?: number;
  /** noise samples before the burst */
  lead?: number;
  tail?: number;
}

/** The burst through the impairments: gain·e^{j(phase + 2π cfo n)}·x + noise of variance gain²·10^(−snr/10). */
export function impair(iq: Float32Array, imp: Impairments, rand: () => number): Float32Array {
  const g = gaussian(rand);
  const lead = imp.lead ?? 0;
  const n = iq.length / 2 + lead + (imp.tail ?? 64);
  const out = new Float32Array(2 * n);
  const gain = imp.gain ?? 1;
  const sigma = gain * Math.sqrt(10 ** (-imp.snrDb / 10) / 2);
  for (let k = 0; k < n; k++) {
    const j = k - lead;
    let re = 0;
    let im = 0;
    if (j >= 0 && j < iq.length / 2) {
      const a = (imp.phase ?? 0) + 2 * Math.PI * (imp.cfo ?? 0) * k;
      const c = gain * Math.cos(a);
      const s = gain * Math.sin(a);
      re = iq[2 * j]! * c - iq[2 * j + 1]! * s;
      im = iq[2 * j]! * s + iq[2 * j + 1]! * c;
    }
    out[2 * k] = re + sigma * g();
    out[2 * k + 1] = im + sigma * g();
  }
  return out;
}

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
      // equalization costs little: the symbols' own SNR within 1 dB of the channel's
      expect(measuredSnr).toBeGreaterThan(snrDb - 1);
    });
  }
});
