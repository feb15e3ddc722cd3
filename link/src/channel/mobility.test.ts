import { describe, expect, it } from 'vitest';
import { MOBILITY_PROFILES, MobilityTrace, dopplerHz, mobilityTrace } from './mobility.js';
import { seededRandom } from '@akb/protocol';

describe('mobility profiles', () => {
  it('walks to and from the base station and follows log-distance path loss', () => {
    const walk = mobilityTrace('walk', seededRandom(1));
    expect(walk.distanceAt(0)).toBe(10);
    expect(walk.distanceAt(10_000)).toBeCloseTo(24, 9); // 1.4 m/s for 10 s
    const turn = (190 / 1.4) * 1000;
    expect(walk.distanceAt(turn)).toBeCloseTo(200, 6);
    expect(walk.distanceAt(2 * turn)).toBeCloseTo(10, 6);
    expect(walk.meanSnrDb(10)).toBe(30);
    expect(walk.meanSnrDb(100)).toBeCloseTo(0, 12); // n = 3: 30 dB per decade
  });

  it('adds shadowing of the profile σ, correlated over the decorrelation distance', () => {
    // Thrown at it: 100 km of driving, sampled every 10 m.
    const drive = new MobilityTrace({ ...MOBILITY_PROFILES.drive, minM: 100, maxM: 100, startM: 100 }, seededRandom(3));
    const xs: number[] = [];
    for (let s = 0; s < 100_000; s += 10) xs.push(drive.shadowingDb(s));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(sd - 8)).toBeLessThan(0.6);
    expect(Math.abs(mean)).toBeLessThan(1);
    // Gudmundson: correlation exp(-10/50) at 10 m.
    let c = 0;
    for (let i = 1; i < xs.length; i++) c += (xs[i]! - mean) * (xs[i - 1]! - mean);
    expect(Math.abs(c / (xs.length - 1) / sd ** 2 - Math.exp(-0.2))).toBeLessThan(0.05);
  });

  it('is a pure function of time for a seed, whatever order it is asked in', () => {
    const a = mobilityTrace('drive', seededRandom(9));
    const b = mobilityTrace('drive', seededRandom(9));
    const late = a.snrDbAt(60_000);
    expect(b.snrDbAt(1000)).toBe(a.snrDbAt(1000));
    expect(b.snrDbAt(60_000)).toBe(late);
    expect(mobilityTrace('static', seededRandom(1)).snrDbAt(1e6)).toBe(20);
  });

  it('gives the Doppler of the profile speed, and refuses unknown profiles', () => {
    expect(dopplerHz(MOBILITY_PROFILES.walk.speedMps, 868e6)).toBeCloseTo(4.05, 2);
    expect(() => mobilityTrace('teleport', seededRandom(1))).toThrow(expect.objectContaining({ code: 'UNKNOWN_MOBILITY_PROFILE' }) as Error);
  });
});
