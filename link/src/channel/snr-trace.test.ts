import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PiecewiseSnrTrace, constantSnr, loadSnrTrace, parseSnrCsv, parseSnrJson } from './snr-trace.js';

describe('SNR traces', () => {
  it('a constant trace is the same at every time; out-of-range SNRs are refused', () => {
    const t = constantSnr(7);
    expect([0, 1e3, 1e9].map((x) => t.snrDbAt(x))).toEqual([7, 7, 7]);
    expect(() => constantSnr(Number.NaN)).toThrow(/outside/);
    expect(() => constantSnr(500)).toThrow(/outside/);
  });

  it('interpolates linearly in dB, holds the ends, and loops when asked', () => {
    const points = [{ timeMs: 0, snrDb: 10 }, { timeMs: 1000, snrDb: 0 }, { timeMs: 2000, snrDb: 20 }];
    const hold = new PiecewiseSnrTrace(points);
    expect(hold.snrDbAt(-5)).toBe(10);
    expect(hold.snrDbAt(250)).toBeCloseTo(7.5, 12);
    expect(hold.snrDbAt(1500)).toBeCloseTo(10, 12);
    expect(hold.snrDbAt(5000)).toBe(20);
    const loop = new PiecewiseSnrTrace(points, true);
    expect(loop.snrDbAt(2250)).toBeCloseTo(7.5, 12);
    // A repeated time is a step: the later point wins from then on.
    const step = new PiecewiseSnrTrace([{ timeMs: 0, snrDb: 1 }, { timeMs: 10, snrDb: 1 }, { timeMs: 10, snrDb: 5 }, { timeMs: 20, snrDb: 5 }]);
    expect(step.snrDbAt(10)).toBe(5);
    expect(step.snrDbAt(9.99)).toBeCloseTo(1, 12);
  });

  it('reads CSV with or without a header; a time_s header means seconds', () => {
    expect(parseSnrCsv('# walk\n0,10\n500, 5\n\n1000\t0 # end\n')).toEqual([
      { timeMs: 0, snrDb: 10 }, { timeMs: 500, snrDb: 5 }, { timeMs: 1000, snrDb: 0 },
    ]);
    expect(parseSnrCsv('time_s;snr_db\n0;3\n1.5;4\n')).toEqual([{ timeMs: 0, snrDb: 3 }, { timeMs: 1500, snrDb: 4 }]);
    expect(parseSnrCsv('time_ms snr_db\n2 3\n')).toEqual([{ timeMs: 2, snrDb: 3 }]);
    // Thrown at it: one column, a word in the data, a second header.
    expect(() => parseSnrCsv('0\n')).toThrow(/two columns/);
    expect(() => parseSnrCsv('0,ten\n')).toThrow(/:1: "0,ten" is not two numbers/);
    expect(() => parseSnrCsv('t,snr\n0,1\nt,snr\n')).toThrow(/:3:/);
  });

  it('reads JSON as objects (ms or s), pairs, or {loop, points}', () => {
    expect(parseSnrJson('[{"timeMs":0,"snrDb":1},{"timeS":2,"snrDb":3}]').points).toEqual([
      { timeMs: 0, snrDb: 1 }, { timeMs: 2000, snrDb: 3 },
    ]);
    expect(parseSnrJson('{"loop":true,"points":[[0,1],[10,2]]}')).toEqual({ loop: true, points: [{ timeMs: 0, snrDb: 1 }, { timeMs: 10, snrDb: 2 }] });
    // Thrown at it: broken JSON, a number, a point without SNR.
    expect(() => parseSnrJson('[{')).toThrow(/not JSON/);
    expect(() => parseSnrJson('42')).toThrow(/expected an array/);
    expect(() => parseSnrJson('[{"timeMs":0}]')).toThrow(/point 1 needs/);
  });

  it('refuses traces without points or with times that go back', () => {
    expect(() => new PiecewiseSnrTrace([])).toThrow(/no points/);
    expect(() => new PiecewiseSnrTrace([{ timeMs: 5, snrDb: 1 }, { timeMs: 1, snrDb: 1 }])).toThrow(/point 2: time 1 ms goes back/);
  });

  it('loads CSV and JSON files, and names a missing file in a typed error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-trace-'));
    writeFileSync(join(dir, 'a.csv'), 't_ms,snr_db\n0,0\n100,10\n');
    writeFileSync(join(dir, 'b.json'), '[[0, 4], [100, 8]]');
    expect((await loadSnrTrace(join(dir, 'a.csv'))).snrDbAt(50)).toBeCloseTo(5, 12);
    expect((await loadSnrTrace(join(dir, 'b.json'))).snrDbAt(50)).toBeCloseTo(6, 12);
    await expect(loadSnrTrace(join(dir, 'none.csv'))).rejects.toMatchObject({ code: 'INVALID_SNR_TRACE', message: expect.stringContaining('ENOENT') as string });
  });
});
