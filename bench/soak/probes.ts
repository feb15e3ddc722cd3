/**
 * What the soak watches from outside its processes: resident memory and open file descriptors of a pid
 * (/proc, Linux), sampled into series that say whether they stayed flat, and per-device tallies of unique
 * message numbers in fixed-size bitmaps (memory does not grow with what arrives).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS (MiB) and the number of open descriptors of `pid`, or undefined once it is gone. */
export function processSample(pid: number): { rssMiB: number; fds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    return { rssMiB: Math.round((kib / 1024) * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

export interface SeriesPoint {
  t: number;
  rssMiB: number;
  fds: number;
}

/** Samples of one process (or role: the broker's pid changes at each restart) over the run. */
export class ProcessSeries {
  readonly points: SeriesPoint[] = [];

  add(t: number, pid: number | undefined): void {
    const s = pid === undefined ? undefined : processSample(pid);
    if (s) this.points.push({ t, ...s });
  }

  /**
   * Flatness after `warmupS`: mean RSS of the last `windowS` seconds over the mean of the first `windowS`
   * seconds after warm-up (1.0 = flat), and the descriptors' range over the same span.
   */
  summary(warmupS: number, windowS: number): object {
    const after = this.points.filter((p) => p.t >= warmupS);
    if (after.length < 2) return { samples: this.points.length, note: 'too few samples' };
    const endT = after.at(-1)!.t;
    const first = after.filter((p) => p.t < warmupS + windowS);
    const last = after.filter((p) => p.t > endT - windowS);
    const mean = (xs: SeriesPoint[]): number => xs.reduce((s, p) => s + p.rssMiB, 0) / xs.length;
    const fds = after.map((p) => p.fds);
    // Mean RSS per minute of the run, and the least-squares slope over its second half (MiB a minute).
    const byMinute: number[] = [];
    for (let m = 0; m <= Math.floor(endT / 60); m++) {
      const inMinute = this.points.filter((p) => Math.floor(p.t / 60) === m);
      if (inMinute.length > 0) byMinute.push(Math.round(mean(inMinute) * 10) / 10);
    }
    const half = this.points.filter((p) => p.t >= endT / 2);
    return {
      samples: this.points.length,
      rssMiB: { start: after[0]!.rssMiB, end: after.at(-1)!.rssMiB, peak: Math.max(...after.map((p) => p.rssMiB)) },
      rssLastOverFirstWindow: Math.round((mean(last) / mean(first)) * 1000) / 1000,
      rssMiBByMinute: byMinute,
      rssSlopeMiBPerMinuteSecondHalf: Math.round(slope(half) * 60 * 100) / 100,
      fds: { start: fds[0]!, end: fds.at(-1)!, min: Math.min(...fds), max: Math.max(...fds) },
    };
  }
}

/** Unique numbers 0..capacity-1 seen per key, with duplicates counted. */
export class UniqueTally {
  private readonly seen = new Map<string, Uint8Array>();
  duplicates = 0;
  outOfRange = 0;

  constructor(private readonly capacity: number) {}

  add(key: string, n: number): void {
    if (!Number.isInteger(n) || n < 0 || n >= this.capacity) {
      this.outOfRange++;
      return;
    }
    let bits = this.seen.get(key);
    if (bits === undefined) {
      bits = new Uint8Array(Math.ceil(this.capacity / 8));
      this.seen.set(key, bits);
    }
    const mask = 1 << (n & 7);
    if ((bits[n >> 3]! & mask) !== 0) this.duplicates++;
    else bits[n >> 3]! |= mask;
  }

  /** How many distinct numbers below `below` arrived for `key`. */
  count(key: string, below = this.capacity): number {
    const bits = this.seen.get(key);
    if (bits === undefined) return 0;
    let c = 0;
    for (let n = 0; n < below; n++) if ((bits[n >> 3]! & (1 << (n & 7))) !== 0) c++;
    return c;
  }
}

/** Least-squares slope of RSS (MiB) over time (s). */
function slope(points: readonly SeriesPoint[]): number {
  if (points.length < 2) return 0;
  const mt = points.reduce((s, p) => s + p.t, 0) / points.length;
  const mr = points.reduce((s, p) => s + p.rssMiB, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.rssMiB - mr);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
