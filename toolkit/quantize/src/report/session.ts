/**
 * onnxruntime-node helpers shared by the report, the JSCC evaluation and the sensitivity search: sessions
 * whose load failure is a one-line typed error, every output of a set of rows gathered into one array
 * per output, and the median latency of one-sample runs.
 */
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import { ortThreadOptions } from '@akb/jscc';
import { batchOf, type RowTable } from './rows.js';

/** Named input tensors of one run (a calibration sample, or a batch of them). */
export type Feeds = Record<string, ort.Tensor>;

/** Float outputs of many samples, concatenated along the batch dimension, by output name. */
export type Outputs = Map<string, Float32Array>;

/**
 * An onnxruntime-node session over model bytes on the CPU. A model onnxruntime refuses becomes an
 * AkbError (code MODEL_DOES_NOT_RUN) naming `what`, never a raw onnxruntime exception. With
 * optimization 'all' (the default) onnxruntime fuses QDQ groups into this CPU's integer kernels; with
 * 'disabled' a QDQ model computes the reference semantics (dequantize, float op, quantize). AKB_ORT_THREADS
 * sets the thread count (@akb/jscc's ortThreadOptions).
 */
export async function createSession(bytes: Uint8Array, what: string, opts: { optimization?: 'all' | 'disabled' } = {}): Promise<ort.InferenceSession> {
  const threads = ortThreadOptions();
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: opts.optimization ?? 'all', ...threads });
  } catch (e) {
    throw new AkbError('MODEL_DOES_NOT_RUN', `onnxruntime cannot load ${what}: ${firstLine(e)}`, { cause: e });
  }
}

/** Runs `session`; an onnxruntime failure (wrong shape, wrong type) becomes a one-line AkbError. */
export async function runSession(session: ort.InferenceSession, feeds: Feeds, what: string): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds);
  } catch (e) {
    throw new AkbError('MODEL_DOES_NOT_RUN', `${what} does not run on these inputs: ${firstLine(e)}`, { cause: e });
  }
}

/**
 * Runs every row of `table` through `session` in batches of `batch` (default 32) and returns each float
 * output concatenated over all rows. Non-float outputs are left out.
 */
export async function runAll(session: ort.InferenceSession, table: RowTable, what: string, batch = 32): Promise<Outputs> {
  const parts = new Map<string, Float32Array[]>();
  for (let start = 0; start < table.count; start += batch) {
    const n = Math.min(batch, table.count - start);
    const result = await runSession(session, batchOf(table, start, n, session.inputNames), what);
    for (const name of session.outputNames) {
      const t = result[name];
      if (t === undefined || !(t instanceof ort.Tensor) || t.type !== 'float32') continue;
      const list = parts.get(name) ?? [];
      list.push(Float32Array.from(t.data as Float32Array));
      parts.set(name, list);
    }
  }
  const out: Outputs = new Map();
  for (const [name, list] of parts) out.set(name, concat(list));
  return out;
}

/** Only the feeds a session takes (extra calibration inputs are ignored); a missing one is a typed error. */
export function restrictFeeds(feeds: Feeds, inputNames: readonly string[]): Feeds {
  const out: Feeds = {};
  for (const name of inputNames) {
    const t = feeds[name];
    if (t === undefined) throw new AkbError('BAD_CALIBRATION_DATA', `the data has no input "${name}" (it has ${Object.keys(feeds).join(', ') || 'none'})`);
    out[name] = t;
  }
  return out;
}

/** Median wall time in ms of `runs` calls of session.run on `feeds`, after `warmup` untimed calls. */
export async function medianLatencyMs(session: ort.InferenceSession, feeds: Feeds, runs: number, warmup = 3): Promise<number> {
  const f = restrictFeeds(feeds, session.inputNames);
  for (let i = 0; i < warmup; i++) await session.run(f);
  const times: number[] = [];
  for (let i = 0; i < Math.max(1, runs); i++) {
    const t0 = performance.now();
    await session.run(f);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** The median of `xs` (mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function concat(list: readonly Float32Array[]): Float32Array {
  if (list.length === 1) return list[0]!;
  const out = new Float32Array(list.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of list) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** The first line of an error's message. */
export function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (message.split(/\r?\n/).find((l) => l.trim() !== '') ?? message).trim();
}
