import { describe, expect, it } from 'vitest';
import { measureSnrDb, noiseVariance, unitPowerSymbols } from '@akb/protocol';
import { Channel, type ChannelOutput } from './channel.js';
import { seededRandom } from '@akb/protocol';
import { PiecewiseSnrTrace, constantSnr } from './snr-trace.js';

const symbols = (n: number, seed: number): Float32Array => unitPowerSymbols(n, seededRandom(seed));

function received(out: ChannelOutput): Extract<ChannelOutput, { lost: false }> {
  if (out.lost) throw new Error('block lost');
  return out;
}

describe('Channel', () => {
  it('AWGN: the received SNR is the set SNR, with unit gain as side information', () => {
    const sent = symbols(50_000, 1);
    const channel = new Channel({ snr: constantSnr(4) }, seededRandom(2));
    const out = received(channel.transmit(sent, { frameKey: 'f0', timeMs: 0 }));
    expect(Math.abs(measureSnrDb(sent, out.values) - 4)).toBeLessThan(0.1);
    expect(out).toMatchObject({ snrDb: 4, gain: { re: 1, im: 0 }, gainDb: 0, effectiveSnrDb: 4, equalized: false, delayMs: 0 });
    expect(sent[0]).not.toBe(out.values[0]); // the input is left alone, the output is new
  });

  it('block Rayleigh with equalization: each frame measures SNR + 10 log10 |h|²; its fragments share h', () => {
    // Thrown at it: 40 frames of two 5000-symbol fragments each at 10 dB.
    const channel = new Channel({ snr: constantSnr(10), fading: { kind: 'rayleigh' } }, seededRandom(3));
    const sent = symbols(5000, 4);
    for (let f = 0; f < 40; f++) {
      const a = received(channel.transmit(sent, { frameKey: `d/1/${f}`, timeMs: f * 10 }));
      const b = received(channel.transmit(sent, { frameKey: `d/1/${f}`, timeMs: f * 10 + 1 }));
      expect(b.gain).toEqual(a.gain);
      expect(a.equalized).toBe(true);
      expect(a.effectiveSnrDb).toBeCloseTo(10 + 10 * Math.log10(a.gain.re ** 2 + a.gain.im ** 2), 9);
      expect(Math.abs(measureSnrDb(sent, a.values) - a.effectiveSnrDb)).toBeLessThan(0.25);
    }
  });

  it('block Rayleigh without equalization: the receiver sees h·z + n and gets h', () => {
    const channel = new Channel({ snr: constantSnr(0), fading: { kind: 'rayleigh' }, equalize: false }, seededRandom(5));
    const sent = symbols(50_000, 6);
    const out = received(channel.transmit(sent, { frameKey: 'x', timeMs: 0 }));
    const { re: hr, im: hi } = out.gain;
    let noise = 0;
    for (let s = 0; s < 50_000; s++) {
      const zr = sent[2 * s]!;
      const zi = sent[2 * s + 1]!;
      noise += (out.values[2 * s]! - (hr * zr - hi * zi)) ** 2 + (out.values[2 * s + 1]! - (hr * zi + hi * zr)) ** 2;
    }
    expect(Math.abs(noise / 50_000 / noiseVariance(0) - 1)).toBeLessThan(0.03);
    expect(out.equalized).toBe(false);
  });

  it('Gauss-Markov with equalization removes the per-symbol gain', () => {
    const channel = new Channel(
      { snr: constantSnr(15), fading: { kind: 'gauss-markov', dopplerHz: 10, symbolRateHz: 1000 } },
      seededRandom(7),
    );
    const sent = symbols(2000, 8);
    const out = received(channel.transmit(sent, { frameKey: 'g', timeMs: 0 }));
    // The noise after equalization is n/h_t, so the SNR is that of the gains' harmonic mean: just check
    // the symbols are back around z (a per-symbol phase error would scramble them).
    let dot = 0;
    for (let i = 0; i < sent.length; i++) dot += sent[i]! * out.values[i]!;
    expect(dot / 2000).toBeGreaterThan(0.9);
  });

  it('loses whole blocks by Gilbert-Elliott and delays the rest by latency ± jitter', () => {
    const channel = new Channel(
      { snr: constantSnr(10), loss: { p: 0.2, r: 0.5, lossBad: 1, lossGood: 0 }, latency: { latencyMs: 30, jitterMs: 10 } },
      seededRandom(9),
    );
    let lost = 0;
    const sent = symbols(4, 1);
    for (let i = 0; i < 20_000; i++) {
      const out = channel.transmit(sent, { frameKey: `f${i}`, timeMs: i });
      if (out.lost) lost++;
      else if (out.delayMs < 20 || out.delayMs > 40) throw new Error(`delay ${out.delayMs} ms`);
    }
    expect(Math.abs(lost / 20_000 - 0.2 / 0.7)).toBeLessThan(0.015);
  });

  it('follows the SNR trace from its first block, and repeats exactly from a seed', () => {
    const trace = new PiecewiseSnrTrace([{ timeMs: 0, snrDb: 0 }, { timeMs: 1000, snrDb: 20 }]);
    const make = (): Channel => new Channel({ snr: trace, fading: { kind: 'rayleigh' } }, seededRandom(10));
    const a = make();
    const b = make();
    const sent = symbols(16, 2);
    const first = received(a.transmit(sent, { frameKey: '1', timeMs: 5000 }));
    const later = received(a.transmit(sent, { frameKey: '2', timeMs: 5500 }));
    expect(first.snrDb).toBe(0);
    expect(later.snrDb).toBeCloseTo(10, 12);
    expect(received(b.transmit(sent, { frameKey: '1', timeMs: 5000 })).values).toEqual(first.values);
    expect(a.describe()).toContain('rayleigh fading');
  });

  it('refuses an odd number of values', () => {
    const channel = new Channel({ snr: constantSnr(1) }, seededRandom(1));
    expect(() => channel.transmit(new Float32Array(3), { frameKey: 'x', timeMs: 0 })).toThrow(/whole complex symbols/);
  });
});
