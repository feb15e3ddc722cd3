/**
 * planWaves, failureLimit and parseShare (unit): the wave plan of protocol/PROTOCOL.md, "Jobs", and the
 * options that feed it. Thrown at them: shares that are not numbers, over 100%, negative, a zero wave; no
 * devices, a device twice, more devices than a job holds.
 */
import { describe, expect, it } from 'vitest';
import { OTA_MAX_JOB_DEVICES } from '@akb/protocol';
import { failureLimit, parseShare, planWaves } from './waves.js';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `d${i}`);

describe('planWaves', () => {
  it('cuts a canary, then waves, in the order given', () => {
    const waves = planWaves(ids(50), { canary: 0.1, wave: 0.25, maxFailures: 0.05 });
    expect(waves.map((w) => w.length)).toEqual([5, 13, 13, 13, 6]);
    expect(waves.flat()).toEqual(ids(50));
  });

  it('has no canary at 0 and at least one device per wave', () => {
    expect(planWaves(ids(3), { canary: 0, wave: 0.01, maxFailures: 0 }).map((w) => w.length)).toEqual([1, 1, 1]);
    expect(planWaves(ids(1), { canary: 0.1, wave: 0.25, maxFailures: 0 })).toEqual([['d0']]);
  });

  it('refuses no devices, a device twice, more than a job holds', () => {
    // Thrown: an empty list; "d0" twice; 1001 devices.
    const p = { canary: 0.1, wave: 0.25, maxFailures: 0.05 };
    expect(() => planWaves([], p)).toThrow(/at least one device/);
    expect(() => planWaves(['d0', 'd0'], p)).toThrow(/named twice/);
    expect(() => planWaves(ids(OTA_MAX_JOB_DEVICES + 1), p)).toThrow(/at most 1000/);
  });

  it('tolerates floor(maxFailures * N) failures', () => {
    expect(failureLimit(50, 0.05)).toBe(2);
    expect(failureLimit(100, 0.05)).toBe(5);
    expect(failureLimit(10, 0)).toBe(0);
  });
});

describe('parseShare', () => {
  it('reads percentages and fractions', () => {
    expect(parseShare('10%', 'canary')).toBeCloseTo(0.1);
    expect(parseShare('0.25', 'wave')).toBe(0.25);
    expect(parseShare('25', 'wave')).toBe(0.25);
    expect(parseShare('0%', 'canary')).toBe(0);
  });

  it('refuses what is not a share, in one line naming the option', () => {
    // Thrown: text, over 100%, a negative share, an empty string, a zero wave.
    for (const bad of ['ten', '150%', '-5%', '']) expect(() => parseShare(bad, 'canary')).toThrow(/--canary/);
    expect(() => parseShare('0%', 'wave', false)).toThrow(/--wave "0%" is not a share/);
  });
});
