/**
 * SNR over time, in dB, for the channel to follow: a constant, a recorded trace (a file of time → SNR),
 * or a mobility profile (mobility.ts). Times are ms from the trace's start (the channel's first fragment).
 *
 * Trace files:
 * - CSV: two columns, time and SNR in dB, separated by a comma, semicolon, tab or spaces; `#` starts a
 *   comment. An optional header row names the time unit: a time column called `time_s`, `t_s` or
 *   `seconds` is in seconds; otherwise (no header, `time_ms`, `t_ms`, …) in milliseconds.
 * - JSON: `[{"timeMs": 0, "snrDb": 12}, …]` (or `"timeS"`), `[[0, 12], [1000, 3], …]` (ms), or
 *   `{"loop": true, "points": [...]}`.
 * Between points the SNR is interpolated linearly (in dB); before the first it is the first, after the
 * last it holds the last, or with `loop` the trace starts over (period: last time − first time).
 */
import { readFile } from 'node:fs/promises';
import { AkbError } from '@akb/protocol';

export interface SnrTrace {
  /** SNR in dB at `timeMs` ms after the trace's start. */
  snrDbAt(timeMs: number): number;
  /** One line for people, e.g. "constant 10 dB". */
  readonly description: string;
}

export interface SnrPoint {
  /** ms from the start. */
  timeMs: number;
  snrDb: number;
}

/** The SNR range the edge configuration accepts, dB. */
export const SNR_DB_RANGE = [-50, 100] as const;

function traceError(where: string, problem: string): AkbError {
  return new AkbError('INVALID_SNR_TRACE', `${where}: ${problem}`, {
    hint: 'a trace is rows of "time_ms,snr_db" (CSV) or [{"timeMs":0,"snrDb":10},…] (JSON), times ascending',
  });
}

function checkSnr(where: string, snrDb: number): number {
  if (!(Number.isFinite(snrDb) && snrDb >= SNR_DB_RANGE[0] && snrDb <= SNR_DB_RANGE[1])) {
    throw traceError(where, `SNR ${snrDb} dB is outside [${SNR_DB_RANGE[0]}, ${SNR_DB_RANGE[1]}]`);
  }
  return snrDb;
}

export function constantSnr(snrDb: number): SnrTrace {
  checkSnr('SNR', snrDb);
  return { snrDbAt: () => snrDb, description: `constant ${snrDb} dB` };
}

/** A trace through `points` (ascending times), linear in dB between them. */
export class PiecewiseSnrTrace implements SnrTrace {
  private readonly times: Float64Array;
  private readonly values: Float64Array;

  constructor(points: readonly SnrPoint[], readonly loop = false, readonly description = `trace of ${points.length} points`) {
    if (points.length === 0) throw traceError(description, 'no points');
    points.forEach((p, i) => {
      if (!Number.isFinite(p.timeMs)) throw traceError(description, `point ${i + 1}: time ${p.timeMs} is not a number`);
      if (i > 0 && p.timeMs < points[i - 1]!.timeMs) throw traceError(description, `point ${i + 1}: time ${p.timeMs} ms goes back`);
      checkSnr(`${description}: point ${i + 1}`, p.snrDb);
    });
    this.times = Float64Array.from(points, (p) => p.timeMs);
    this.values = Float64Array.from(points, (p) => p.snrDb);
  }

  snrDbAt(timeMs: number): number {
    const { times, values } = this;
    const n = times.length;
    const first = times[0]!;
    const last = times[n - 1]!;
    let t = timeMs;
    if (this.loop && last > first && t > last) t = first + ((t - first) % (last - first));
    if (t <= first) return values[0]!;
    if (t >= last) return values[n - 1]!;
    // Binary search for the last point at or before t.
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! <= t) lo = mid;
      else hi = mid;
    }
    const t0 = times[lo]!;
    const t1 = times[hi]!;
    return t1 === t0 ? values[hi]! : values[lo]! + ((values[hi]! - values[lo]!) * (t - t0)) / (t1 - t0);
  }
}

/** Parses a CSV trace (see the module comment). `name` appears in errors. */
export function parseSnrCsv(text: string, name = 'trace'): SnrPoint[] {
  const points: SnrPoint[] = [];
  let scale = 1;
  let row = 0;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const cells = line.split(/\s*[,;\t]\s*|\s+/);
    if (cells.length < 2) throw traceError(`${name}:${index + 1}`, 'expected two columns, time and SNR (dB)');
    const [a = '', b = ''] = cells;
    if (row++ === 0 && !/^[-+.\d]/.test(a)) {
      scale = /^(t|time)?_?(s|sec|secs|seconds)$/i.test(a) ? 1000 : 1;
      continue;
    }
    const t = Number(a);
    const snr = Number(b);
    if (a === '' || Number.isNaN(t) || b === '' || Number.isNaN(snr)) {
      throw traceError(`${name}:${index + 1}`, `"${line.slice(0, 60)}" is not two numbers`);
    }
    points.push({ timeMs: t * scale, snrDb: snr });
  }
  return points;
}

/** Parses a JSON trace (see the module comment); returns its points and whether it loops. */
export function parseSnrJson(text: string, name = 'trace'): { points: SnrPoint[]; loop: boolean } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw traceError(name, `not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  let loop = false;
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
    const o = doc as { points?: unknown; loop?: unknown };
    loop = o.loop === true;
    doc = o.points;
  }
  if (!Array.isArray(doc)) throw traceError(name, 'expected an array of points, or {"points": [...]}');
  const points = doc.map((p: unknown, i): SnrPoint => {
    if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && typeof p[1] === 'number') {
      return { timeMs: p[0], snrDb: p[1] };
    }
    const o = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
    const timeMs = typeof o.timeMs === 'number' ? o.timeMs : typeof o.timeS === 'number' ? o.timeS * 1000 : undefined;
    if (timeMs === undefined || typeof o.snrDb !== 'number') {
      throw traceError(name, `point ${i + 1} needs "timeMs" (or "timeS") and "snrDb" numbers, or [timeMs, snrDb]`);
    }
    return { timeMs, snrDb: o.snrDb };
  });
  return { points, loop };
}

/** Reads a trace file: JSON when it ends in .json or starts with [ or {, else CSV. */
export async function loadSnrTrace(path: string, options: { loop?: boolean } = {}): Promise<SnrTrace> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new AkbError('INVALID_SNR_TRACE', `cannot read SNR trace ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'check the path given to --snr-trace',
    });
  }
  if (path.endsWith('.json') || /^\s*[[{]/.test(text)) {
    const { points, loop } = parseSnrJson(text, path);
    return new PiecewiseSnrTrace(points, options.loop ?? loop, `trace ${path}`);
  }
  return new PiecewiseSnrTrace(parseSnrCsv(text, path), options.loop ?? false, `trace ${path}`);
}
