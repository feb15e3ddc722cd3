/**
 * What the telemetry benchmark measures with, each from outside akb-cloud: lag series bucketed by minute,
 * the resident memory of a process (/proc/<pid>/status), the rows akb-cloud's SQLite store has written
 * (read through a second, read-only connection: WAL lets it read while akb-cloud writes), and the
 * dashboard's own latency hook in chromium.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const round = (x: number | null, digits = 1): number | null => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

export interface SeriesSummary {
  n: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
  perMinute: { minute: number; n: number; p50: number | null; p95: number | null }[];
}

/** Values (ms) in buckets by the minute of the run they were taken in. */
export class LagSeries {
  private readonly minutes: number[][] = [];

  /** `start`: when minute 0 begins (settable until the first value). */
  constructor(public start: number) {}

  add(value: number, at: number = Date.now()): void {
    const m = Math.max(0, Math.floor((at - this.start) / 60_000));
    while (this.minutes.length <= m) this.minutes.push([]);
    this.minutes[m]!.push(value);
  }

  summary(): SeriesSummary {
    const all = this.minutes.flat().sort((a, b) => a - b);
    return {
      n: all.length,
      p50: round(percentile(all, 50)),
      p95: round(percentile(all, 95)),
      max: round(all.at(-1) ?? null),
      perMinute: this.minutes.map((xs, minute) => {
        const s = [...xs].sort((a, b) => a - b);
        return { minute, n: s.length, p50: round(percentile(s, 50)), p95: round(percentile(s, 95)) };
      }),
    };
  }
}

/** VmRSS and VmHWM of `pid` in MiB, or undefined once the process is gone. */
export function rssOf(pid: number): { rssMiB: number; peakMiB: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssMiB: round(kib('VmRSS') / 1024)!, peakMiB: round(kib('VmHWM') / 1024)! };
  } catch {
    return undefined;
  }
}

interface Row {
  id: number;
  received_at: number;
  ts: number;
}

/** New telemetry rows of akb-cloud's SQLite store since the last poll. */
export class StorePoller {
  private lastId = 0;
  rows = 0;
  private db: import('better-sqlite3').Database | undefined;

  constructor(private readonly path: string) {}

  /** Rows written since the last call, with when this poll saw them; empty until the file has the table. */
  async poll(): Promise<{ rows: Row[]; seenAt: number }> {
    const seenAt = Date.now();
    if (this.db === undefined) {
      try {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(this.path, { readonly: true, fileMustExist: true });
        db.prepare('SELECT 1 FROM telemetry LIMIT 1').all();
        this.db = db;
      } catch {
        return { rows: [], seenAt };
      }
    }
    const rows = this.db.prepare('SELECT id, received_at, ts FROM telemetry WHERE id > ? ORDER BY id LIMIT 100000').all(this.lastId) as Row[];
    if (rows.length > 0) this.lastId = rows.at(-1)!.id;
    this.rows += rows.length;
    return { rows, seenAt };
  }

  close(): void {
    this.db?.close();
  }
}

/** Takes the dashboard's latency values recorded since the last call (the page keeps at most 10,000). */
export async function drainDashboard(page: Page): Promise<{ fromEvent: number[]; fromReceipt: number[]; connected: boolean }> {
  return page.evaluate(() => {
    const hook = (globalThis as unknown as { __akbDashboard?: { latencies: number[]; latenciesFromReceipt: number[]; connected: boolean } }).__akbDashboard;
    if (hook === undefined) return { fromEvent: [], fromReceipt: [], connected: false };
    return { fromEvent: hook.latencies.splice(0), fromReceipt: hook.latenciesFromReceipt.splice(0), connected: hook.connected };
  });
}
