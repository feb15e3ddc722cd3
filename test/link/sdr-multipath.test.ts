/**
 * The multipath equalizer in Node (seeded): bursts through a multipath channel (as GNU Radio's
 * channel_model applies it: taps, then a frequency offset, then AWGN), with a random phase, gain and
 * timing. Compares the symbols' SNR with the equalizer (the default, 4 channel taps) and without it
 * (`channelTaps: 1`: one complex gain, echoes left as interference), against the flat channel at the same
 * SNR, and checks the reported taps, SNR estimates and the timing on the strongest path.
 */
import { describe, expect, it } from 'vitest';
import { AkbError, measureSnrDb, seededRandom } from '@akb/protocol';
import { Synchronizer, modulateFrame, type ReceivedBurst } from '@akb/link';
import { impair, multipath, normalizedTaps, symbolFrame } from './sdr-support.js';

type Taps = [number, number][];

const CHANNELS: Record<string, Taps> = {
  flat: [[1, 0]],
  '[1, 0.3]': normalizedTaps([[1, 0], [0.3, 0]]),
  '[1, 0, 0.4j]': normalizedTaps([[1, 0], [0, 0], [0, 0.4]]),
  '[0.8, 0.5, 0.2]': normalizedTaps([[0.8, 0], [0.5, 0], [0.2, 0]]),
};

interface Run {
  found: number;
  /** SNR of all symbols received against those sent, dB. */
  symbolSnrDb: number;
  /** Means of the reported estimates, dB. */
  snrDb: number;
  equalizedSnrDb: number;
  bursts: ReceivedBurst[];
  leads: number[];
}

/** `trials` bursts of 512 symbols through `taps` at `snrDb` (the same seed gives the same samples whatever `channelTaps`). */
function run(taps: Taps, snrDb: number, channelTaps: number | undefined, seed: number, trials = 20): Run {
  const rand = seededRandom(seed);
  const sent: Float32Array[] = [];
  const got: Float32Array[] = [];
  const bursts: ReceivedBurst[] = [];
  const leads: number[] = [];
  for (let t = 0; t < trials; t++) {
    const { frame, values } = symbolFrame(512, t, rand);
    const imp = { snrDb, cfo: (rand() - 0.5) * 0.006, phase: rand() * 2 * Math.PI, gain: 0.2 + rand(), lead: Math.floor(rand() * 2000) };
    const sync = new Synchronizer(channelTaps === undefined ? {} : { channelTaps });
    const hit = sync.push(impair(multipath(modulateFrame(frame), taps), imp, rand)).find((b) => b.header.frameId === t);
    if (hit === undefined) continue;
    sent.push(values);
    got.push(hit.values);
    bursts.push(hit);
    leads.push(imp.lead);
  }
  const mean = (f: (b: ReceivedBurst) => number): number => bursts.reduce((s, b) => s + f(b), 0) / bursts.length;
  return { found: bursts.length, symbolSnrDb: measureSnrDb(concat(sent), concat(got)), snrDb: mean((b) => b.snrDb), equalizedSnrDb: mean((b) => b.equalizedSnrDb), bursts, leads };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('sdr multipath equalizer', () => {
  for (const snrDb of [5, 10, 20]) {
    it(`at ${snrDb} dB: every frame found through each channel; the equalizer recovers what one gain loses`, () => {
      const flat = run(CHANNELS.flat!, snrDb, undefined, 500 + snrDb);
      for (const [name, taps] of Object.entries(CHANNELS)) {
        const eq = run(taps, snrDb, undefined, 500 + snrDb);
        const oneTap = run(taps, snrDb, 1, 500 + snrDb);
        console.log(
          `multipath ${name} at ${snrDb} dB: found ${eq.found}/20 (one gain ${oneTap.found}/20); symbol SNR ${eq.symbolSnrDb.toFixed(2)} dB equalized, ` +
            `${oneTap.symbolSnrDb.toFixed(2)} dB one gain, ${flat.symbolSnrDb.toFixed(2)} dB flat; estimates: channel ${eq.snrDb.toFixed(2)}, equalized ${eq.equalizedSnrDb.toFixed(2)} dB`,
        );
        expect(eq.found).toBe(20);
        expect(Math.abs(eq.snrDb - snrDb)).toBeLessThan(1);
        expect(Math.abs(eq.equalizedSnrDb - eq.symbolSnrDb)).toBeLessThan(1);
      }
    });
  }
});
