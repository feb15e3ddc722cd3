import { describe, expect, it } from 'vitest';
import { DelayLine, LatencyModel, type Scheduler } from './latency.js';
import { seededRandom } from '@akb/protocol';

/** A scheduler on a hand-moved clock. */
function fakeScheduler(): Scheduler & { advance(ms: number): void } {
  let now = 0;
  let timers: { at: number; fn: () => void; seq: number }[] = [];
  let seq = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn, seq: seq++ };
      timers.push(t);
      return t;
    },
    clearTimeout: (h) => {
      timers = timers.filter((t) => t !== h);
    },
    advance(ms) {
      now += ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        due.fn();
      }
    },
  };
}

describe('latency', () => {
  it('draws latency ± jitter uniformly, never below 0 ms', () => {
    const model = new LatencyModel({ latencyMs: 20, jitterMs: 5 }, seededRandom(1));
    const xs = Array.from({ length: 20_000 }, () => model.sample());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 20)).toBeLessThan(0.1);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...xs)).toBeLessThanOrEqual(25);
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(variance - 25 / 3)).toBeLessThan(0.3); // uniform on ±5: 5²/3
    const clamped = new LatencyModel({ latencyMs: 1, jitterMs: 10 }, seededRandom(2));
    for (let i = 0; i < 1000; i++) expect(clamped.sample()).toBeGreaterThanOrEqual(0);
    expect(() => new LatencyModel({ latencyMs: -1 }, seededRandom(1))).toThrow(/latency/);
  });

  it('a delay line reorders items whose delays cross, unless keepOrder', () => {
    // Thrown at it: item a delayed 30 ms, then item b delayed 10 ms, on one stream.
    for (const keepOrder of [false, true]) {
      const clock = fakeScheduler();
      const line = new DelayLine({ keepOrder, scheduler: clock });
      const out: string[] = [];
      line.push('dev', 30, () => out.push('a'));
      line.push('dev', 10, () => out.push('b'));
      line.push('other', 5, () => out.push('c'));
      expect(line.size).toBe(3);
      clock.advance(0);
      expect(out).toEqual([]); // even a zero delay waits for a timer
      clock.advance(15);
      expect(out).toEqual(keepOrder ? ['c'] : ['c', 'b']);
      clock.advance(20);
      expect(out).toEqual(keepOrder ? ['c', 'a', 'b'] : ['c', 'b', 'a']);
      expect(line.size).toBe(0);
    }
  });

  it('flushes what waits in due order, and survives a deliver that throws', () => {
    const clock = fakeScheduler();
    const errors: unknown[] = [];
    const line = new DelayLine({ scheduler: clock, onError: (e) => errors.push(e) });
    const out: number[] = [];
    line.push('s', 50, () => out.push(50));
    line.push('s', 10, () => {
      throw new Error('boom');
    });
    line.push('s', 20, () => out.push(20));
    line.flush();
    expect(out).toEqual([20, 50]);
    expect(errors).toHaveLength(1);
    clock.advance(100);
    expect(out).toEqual([20, 50]); // flushed items do not fire again
  });
});
