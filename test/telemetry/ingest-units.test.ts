/**
 * The ingest's small parts on their own: durations as typed on the command line, the token bucket, the
 * bounded queue, the device profiles' memory (the repository's own devices/ folder, and a bad file), and
 * the telemetry.query page that must fit one protocol message.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../runtime-cloud/src/telemetry/duration.js';
import { RateLimiter } from '../../runtime-cloud/src/telemetry/rate-limit.js';
import { BoundedQueue } from '../../runtime-cloud/src/telemetry/bounded-queue.js';
import { loadProfileMemory } from '../../runtime-cloud/src/telemetry/profiles.js';
import { telemetryQuery } from '../../runtime-cloud/src/telemetry/query-op.js';
import { MemoryTelemetryStore } from '../../runtime-cloud/src/telemetry/memory-store.js';
import { sample } from './fixtures.js';
import { FakeClock } from './harness.js';

describe('parseDuration', () => {
  it('reads 7d, 12h, 30m, 45s, 500ms and a bare number as seconds', () => {
    expect(parseDuration('7d', '--retention')).toBe(7 * 86_400_000);
    expect(parseDuration('12h', '--retention')).toBe(43_200_000);
    expect(parseDuration('30m', '--retention')).toBe(1_800_000);
    expect(parseDuration('45s', '--retention')).toBe(45_000);
    expect(parseDuration('500ms', '--retention')).toBe(500);
    expect(parseDuration('90', '--retention')).toBe(90_000);
  });

  it.each(['0d', '-1d', '7 days', 'forever', '', '1e9d'])('refuses %j naming the flag', (text) => {
    expect(() => parseDuration(text, '--retention')).toThrow(/^--retention: ".*" is not a duration$/);
  });
});

describe('RateLimiter', () => {
  it('gives a burst, then refills at the rate; devices do not share a bucket', () => {
    const clock = new FakeClock();
    const r = new RateLimiter(20, 40, 100, clock.now);
    const taken = (key: string, n: number): number => Array.from({ length: n }, () => r.take(key)).filter(Boolean).length;
    expect(taken('a', 100)).toBe(40);
    expect(taken('b', 5)).toBe(5);
    clock.advance(500); // 10 tokens at 20/s
    expect(taken('a', 100)).toBe(10);
    clock.advance(60_000); // never more than the burst
    expect(taken('a', 100)).toBe(40);
  });

  it('keeps at most maxKeys buckets (a flood of made-up ids cannot grow it)', () => {
    const r = new RateLimiter(1, 1, 10);
    for (let i = 0; i < 10_000; i++) r.take(`dev-${i}`);
    expect(r.size).toBe(10);
  });

  it('refuses a rate of 0 or a burst below 1', () => {
    expect(() => new RateLimiter(0, 1, 1)).toThrow(/rate must be a positive number/);
    expect(() => new RateLimiter(1, 0.5, 1)).toThrow(/burst must be at least 1/);
  });
});

describe('BoundedQueue', () => {
  it('drops the oldest when full, counts it, and never holds more than its bound', () => {
    const q = new BoundedQueue<number>(3);
    for (let i = 0; i < 10_000; i++) q.push(i);
    expect(q.length).toBe(3);
    expect(q.dropped).toBe(9997);
    expect(q.highWater).toBe(3);
    expect(q.take(2)).toEqual([9997, 9998]);
    expect(q.take(5)).toEqual([9999]);
    expect(q.take(5)).toEqual([]);
  });
});

describe('loadProfileMemory', () => {
  it('reads every profile of the repository\'s devices/ folder', async () => {
    const memory = await loadProfileMemory(new URL('../../devices', import.meta.url).pathname);
    expect(memory.get('rpi-5')).toBe(4096 * 2 ** 20);
    expect(memory.get('jetson-nano')).toBe(4096 * 2 ** 20);
    expect(memory.size).toBeGreaterThanOrEqual(7);
  });

  it('refuses a file that is not a valid profile, naming it, and a folder that is not there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-profiles-'));
    try {
      mkdirSync(join(dir, 'x'));
      writeFileSync(join(dir, 'x', 'bad.profile.json'), JSON.stringify({ v: 1, id: 'bad' }));
      await expect(loadProfileMemory(dir)).rejects.toThrow(new RegExp(`--profiles: ${join(dir, 'x', 'bad.profile.json')} is not a valid device profile`));
      await expect(loadProfileMemory(join(dir, 'absent'))).rejects.toThrow(/--profiles: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('telemetry.query', () => {
  it('keeps the newest rows under 200 KiB and says the page is truncated', async () => {
    const store = new MemoryTelemetryStore();
    const rows = Array.from({ length: 1000 }, (_, i) => ({ device: 'cam-01', ts: i, receivedAt: 1000 + i, message: sample('cam-01', i) }));
    await store.writeTelemetry(rows);
    const page = await telemetryQuery(store, { device: 'cam-01', limit: 1000 });
    expect(page.truncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThan(200 * 1024 + 1024);
    expect(page.rows.at(-1)!.receivedAt).toBe(1999);
    expect(page.rows.length).toBeGreaterThan(100);
    const small = await telemetryQuery(store, { device: 'cam-01', from: 1990 });
    expect(small).toMatchObject({ table: 'telemetry', truncated: false });
    expect(small.rows.map((r) => r.receivedAt)).toEqual([1990, 1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999]);
  });

  it.each([
    [{ device: 'a/b' }, /at device/],
    [{ device: 'cam', limit: 5000 }, /at limit/],
    [{ device: 'cam', table: 'secrets' }, /at table/],
    [{ device: 'cam', extra: 1 }, /Unrecognized key/],
    [undefined, /at device/],
  ])('refuses %j as BAD_REQUEST', async (args, re) => {
    const refused = telemetryQuery(new MemoryTelemetryStore(), args);
    await expect(refused).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(refused).rejects.toThrow(re);
  });
});
