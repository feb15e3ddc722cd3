/**
 * The multipath equalizer in Node (seeded): bursts through a multipath channel (as GNU Radio's
 * channel_model applies it: taps, then a frequency offset, then AWGN), with a random phase, gain and
 * timing. Compares the symbols' SNR with the equalizer (the default, 4 channel taps) and without it
 * (`channelTaps: 1`: one complex gain, echoes left as interference), against the flat channel at the same
 * SNR, and checks the reported taps, SNR estimates and the timing on the strongest path.
 */
import { describe, expect, it } from 'vitest';
import { AkbError, measureSnrDb, seededRandom } from '@akb/protocol';
import { SdrUdpGateway, Synchronizer, modulateFrame, packetize, samplesPerDatagram, type ReceivedBurst } from '@akb/link';
import { impair, mmseBoundDb, multipath, normalizedTaps, symbolFrame } from './sdr-support.js';

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

/** The MMSE bound at `snrDb` for unit-power taps. */
const bound = (taps: Taps, snrDb: number): number => mmseBoundDb(taps, 10 ** (-snrDb / 10));

describe('sdr multipath equalizer', () => {
  for (const snrDb of [5, 10, 20]) {
    it(`at ${snrDb} dB: every frame found through each channel; the equalizer reaches the linear MMSE bound, far above one gain`, () => {
      const flat = run(CHANNELS.flat!, snrDb, undefined, 500 + snrDb);
      for (const [name, taps] of Object.entries(CHANNELS)) {
        const eq = run(taps, snrDb, undefined, 500 + snrDb);
        const oneTap = run(taps, snrDb, 1, 500 + snrDb);
        const bounded = bound(taps, snrDb);
        console.log(
          `multipath ${name} at ${snrDb} dB: found ${eq.found}/20 (one gain ${oneTap.found}/20); symbol SNR ${eq.symbolSnrDb.toFixed(2)} dB equalized, ` +
            `${oneTap.symbolSnrDb.toFixed(2)} dB one gain, ${flat.symbolSnrDb.toFixed(2)} dB flat (MMSE bound ${(bounded - snrDb).toFixed(2)} dB from flat); ` +
            `estimates: channel ${eq.snrDb.toFixed(2)}, equalized ${eq.equalizedSnrDb.toFixed(2)} dB`,
        );
        expect(eq.found).toBe(20);
        // the loss against the flat channel is the channel's own (the bound's), within 0.4 dB
        expect(Math.abs(eq.symbolSnrDb - flat.symbolSnrDb - (bounded - snrDb))).toBeLessThan(0.4);
        expect(Math.abs(eq.snrDb - snrDb)).toBeLessThan(0.5);
        expect(Math.abs(eq.equalizedSnrDb - eq.symbolSnrDb)).toBeLessThan(0.5);
        if (name !== 'flat') expect(eq.symbolSnrDb - oneTap.symbolSnrDb).toBeGreaterThan(snrDb === 5 ? 0.5 : 2);
        else expect(Math.abs(eq.symbolSnrDb - oneTap.symbolSnrDb)).toBeLessThan(0.2);
      }
    });
  }

  it('reports the taps it estimated (20 dB: within 0.05 of the channel, normalized)', () => {
    for (const [name, taps] of Object.entries(CHANNELS)) {
      const { bursts } = run(taps, 20, undefined, 600, 10);
      const truth = taps.map(([re, im]) => Math.hypot(re, im));
      for (const b of bursts) {
        expect(b.taps).toHaveLength(4);
        const aligned = truth.map((_, k) => b.taps[b.mainTap + k] ?? 0);
        const others = b.taps.filter((_, k) => k < b.mainTap || k >= b.mainTap + truth.length);
        for (let k = 0; k < truth.length; k++) expect(Math.abs(aligned[k]! - truth[k]!), `${name} tap ${k}`).toBeLessThan(0.05);
        for (const o of others) expect(o).toBeLessThan(0.05);
      }
    }
    const { bursts } = run(CHANNELS['[1, 0.3]']!, 20, 1, 600, 2);
    expect(bursts.map((b) => [b.taps, b.mainTap, b.snrDb === b.equalizedSnrDb])).toEqual([[[1], 0, true], [[1], 0, true]]);
  });

  it('locks on the strongest path when an echo comes before it', () => {
    for (const taps of [normalizedTaps([[0.5, 0], [1, 0]]), normalizedTaps([[0, 0.6], [1, 0], [0.3, 0]])]) {
      const strongest = 1;
      const eq = run(taps, 10, undefined, 700);
      const oneTap = run(taps, 10, 1, 700);
      const bounded = bound(taps, 10);
      console.log(`multipath precursor ${JSON.stringify(taps.map(([re, im]) => [+re.toFixed(3), +im.toFixed(3)]))} at 10 dB: found ${eq.found}/20, symbol SNR ${eq.symbolSnrDb.toFixed(2)} dB (one gain ${oneTap.symbolSnrDb.toFixed(2)}, bound ${bounded.toFixed(2)})`);
      expect(eq.found).toBe(20);
      eq.bursts.forEach((b, i) => {
        expect(b.sampleIndex).toBe(eq.leads[i]! + strongest);
        expect(b.mainTap).toBeGreaterThanOrEqual(strongest);
        expect(b.taps[b.mainTap - 1]).toBeCloseTo(Math.hypot(...taps[0]!), 1);
      });
      expect(eq.symbolSnrDb).toBeGreaterThan(bounded - 0.7);
      expect(eq.symbolSnrDb - oneTap.symbolSnrDb).toBeGreaterThan(2);
    }
  });

  // an echo before the strongest path: the equalizer outputs a sample some samples after reading it
  const PRECURSOR = normalizedTaps([[0.5, 0], [1, 0]]);

  it('a burst at the very end of the stream waits for the equalizer\'s lookahead; flush completes it', () => {
    const rand = seededRandom(800);
    const { frame, values } = symbolFrame(200, 4, rand);
    const iq = impair(multipath(modulateFrame(frame), PRECURSOR), { snrDb: 20, lead: 700, tail: 0 }, rand);
    const sync = new Synchronizer();
    expect(sync.push(iq)).toEqual([]);
    expect(sync.pending).toBe(true);
    const got = sync.flush();
    expect(got).toHaveLength(1);
    expect(sync.stats.abandoned).toBe(0);
    expect(sync.pending).toBe(false);
    expect(measureSnrDb(values, got[0]!.values)).toBeGreaterThan(15);
    expect(sync.flush()).toEqual([]);
  });

  it('the gateway delivers such a burst at its timeout, and still drops one whose own samples stop', async () => {
    const clock = { t: 0 };
    const g = await SdrUdpGateway.open({ port: 0, deviceId: 'dev3', checkIntervalMs: 0, now: () => clock.t, burstTimeoutMs: 1000 });
    try {
      const frames: number[] = [];
      g.onBurst((b) => frames.push(b.header.frameId));
      const rand = seededRandom(801);
      const burst = multipath(modulateFrame(symbolFrame(200, 5, rand).frame), PRECURSOR);
      const per = samplesPerDatagram();
      // leading noise so the burst ends exactly at a datagram's end: nothing after it
      const lead = per * Math.ceil(burst.length / 2 / per + 1) - burst.length / 2;
      const datagrams = packetize(impair(burst, { snrDb: 20, lead, tail: 0 }, rand), 0n);
      for (const d of datagrams) g.receive(d);
      expect(frames).toEqual([]);
      clock.t += 2000;
      g.tick();
      expect(frames).toEqual([5]);
      expect(g.stats.abandoned).toBe(0);
      const cut = packetize(impair(modulateFrame(symbolFrame(2000, 6, rand).frame), { snrDb: 20, lead: 100 }, rand), BigInt(datagrams.length));
      for (const d of cut.slice(0, cut.length / 2)) g.receive(d);
      clock.t += 2000;
      g.tick();
      expect(frames).toEqual([5]);
      expect(g.stats.abandoned).toBe(1);
    } finally {
      await g.close();
    }
  });

  it('hostile samples (NaN, infinities, 3e38) in the preamble or the body: counted, no throw, the next burst decodes', () => {
    const rand = seededRandom(802);
    const sync = new Synchronizer();
    const taps = CHANNELS['[1, 0.3]']!;
    for (const [from, to] of [[100, 120], [400, 3000]] as const) {
      const bad = impair(multipath(modulateFrame(symbolFrame(100, 1, rand).frame), taps), { snrDb: 20, lead: 50 }, rand);
      for (let i = 2 * from; i < 2 * to; i++) bad[i] = [Number.NaN, Number.POSITIVE_INFINITY, -3e38][i % 3]!;
      expect(() => sync.push(bad)).not.toThrow();
    }
    const good = sync.push(impair(multipath(modulateFrame(symbolFrame(100, 2, rand).frame), taps), { snrDb: 20, lead: 50 }, rand));
    expect(good.map((b) => b.header.frameId)).toEqual([2]);
    expect(sync.stats.frames).toBe(1);
    expect(sync.stats.headerFailures).toBeGreaterThanOrEqual(1);
  });

  it('refuses channelTaps outside 1–8 with INVALID_SDR_FORMAT', () => {
    for (const channelTaps of [0, 9, 2.5, Number.NaN]) {
      expect(() => new Synchronizer({ channelTaps })).toThrow(AkbError);
      expect(() => new Synchronizer({ channelTaps })).toThrow(/channelTaps must be an integer from 1 to 8/);
    }
  });
});
