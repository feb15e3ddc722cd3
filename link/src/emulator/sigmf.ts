/**
 * A SigMF recording of received samples: `<base>.sigmf-data` holds complex float32 little-endian samples
 * (`cf32_le`), appended as they come; `<base>.sigmf-meta` is JSON with exactly `global`, `captures` and
 * `annotations`, one annotation per appended block (e.g. one received fragment).
 *
 * Crash safety: samples are written to the data file at once; the meta file is rewritten every
 * `flushIntervalMs` (and at close) by writing a temporary file, syncing the data, and renaming it over
 * the old meta, so at any moment the meta on disk is complete JSON whose annotations only cover samples
 * already in the data file (which may hold a few more, unannotated, after a crash). Rewriting costs time
 * proportional to the annotations, so the interval stretches to 20 times the last rewrite's duration.
 */
import { closeSync, fdatasyncSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { AkbError } from '@akb/protocol';

export const SIGMF_VERSION = '1.0.0';

export interface SigmfRecorderOptions {
  /** Base path: `<path>.sigmf-data` and `<path>.sigmf-meta` (a trailing .sigmf-meta/.sigmf-data/.sigmf is dropped). */
  path: string;
  /** Samples per second (the link's symbol rate), written as `core:sample_rate` when given. */
  sampleRateHz?: number;
  description?: string;
  /** `core:recorder`; default "akb channel emulator". */
  recorder?: string;
  /** Meta rewrite period, ms (default 1000). */
  flushIntervalMs?: number;
  /** Clock for the capture's `core:datetime` (default: now). */
  startedAt?: Date;
}

export interface SigmfAnnotationInput {
  /** `core:label`, short. */
  label: string;
  /** `core:comment`: free text; an object is written as JSON text. */
  comment?: string | object;
}

export interface SigmfMeta {
  global: Record<string, string | number>;
  captures: Record<string, string | number>[];
  annotations: Record<string, string | number>[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The two file names of a recording. */
export function sigmfPaths(path: string): { base: string; data: string; meta: string } {
  const base = path.replace(/\.sigmf(-meta|-data)?$/, '');
  return { base, data: `${base}.sigmf-data`, meta: `${base}.sigmf-meta` };
}

export class SigmfRecorder {
  readonly paths: { base: string; data: string; meta: string };
  private readonly fd: number;
  private readonly global: Record<string, string | number>;
  private readonly capture: Record<string, string | number>;
  /** Annotations serialized once, joined at each rewrite. */
  private readonly annotations: string[] = [];
  private sampleCount = 0;
  private dirty = false;
  private closed = false;
  private nextFlushAt = 0;
  private readonly intervalMs: number;
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(options: SigmfRecorderOptions, fd: number) {
    this.paths = sigmfPaths(options.path);
    this.fd = fd;
    this.intervalMs = options.flushIntervalMs ?? 1000;
    this.global = {
      'core:datatype': 'cf32_le',
      'core:version': SIGMF_VERSION,
      ...(options.sampleRateHz !== undefined ? { 'core:sample_rate': options.sampleRateHz } : {}),
      ...(options.description !== undefined ? { 'core:description': options.description } : {}),
      'core:recorder': options.recorder ?? 'akb channel emulator',
    };
    this.capture = { 'core:sample_start': 0, 'core:datetime': (options.startedAt ?? new Date()).toISOString() };
    this.timer = setInterval(() => this.flushIfDue(), Math.max(10, this.intervalMs));
    this.timer.unref();
  }

  /** Creates (or truncates) both files and writes a meta with no annotations yet. */
  static open(options: SigmfRecorderOptions): SigmfRecorder {
    const { data } = sigmfPaths(options.path);
    let fd: number;
    try {
      fd = openSync(data, 'w');
    } catch (e) {
      throw new AkbError('RECORDING_FAILED', `cannot create ${data}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
        hint: 'check that the folder of --record exists and is writable',
      });
    }
    const recorder = new SigmfRecorder(options, fd);
    recorder.flush();
    return recorder;
  }

  /** Complex samples written so far. */
  get samples(): number {
    return this.sampleCount;
  }

  get annotationCount(): number {
    return this.annotations.length;
  }

  /** Appends interleaved I,Q values as samples, with one annotation covering them. */
  append(values: Float32Array, annotation: SigmfAnnotationInput): void {
    if (this.closed) throw new AkbError('RECORDING_CLOSED', `the recording ${this.paths.base} is closed`);
    const count = Math.floor(values.length / 2);
    const bytes = littleEndianBytes(values.subarray(0, 2 * count));
    this.guard(this.paths.data, () => {
      for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at);
    });
    const entry: Record<string, string | number> = {
      'core:sample_start': this.sampleCount,
      'core:sample_count': count,
      'core:label': annotation.label,
    };
    if (annotation.comment !== undefined) {
      entry['core:comment'] = typeof annotation.comment === 'string' ? annotation.comment : JSON.stringify(annotation.comment);
    }
    this.annotations.push(JSON.stringify(entry));
    this.sampleCount += count;
    this.dirty = true;
  }

  /** Rewrites the meta file now (atomically), after syncing the data. */
  flush(): void {
    if (this.closed) return;
    const started = performance.now();
    const text =
      `{"global":${JSON.stringify(this.global)},\n"captures":[${JSON.stringify(this.capture)}],\n` +
      `"annotations":[${this.annotations.length > 0 ? '\n' : ''}${this.annotations.join(',\n')}]}\n`;
    const tmp = `${this.paths.meta}.tmp-${process.pid}`;
    this.guard(this.paths.meta, () => {
      fdatasyncSync(this.fd); // the samples the new meta annotates are on disk before it is
      writeFileSync(tmp, text);
      renameSync(tmp, this.paths.meta);
    });
    this.dirty = false;
    const took = performance.now() - started;
    this.nextFlushAt = performance.now() + Math.max(this.intervalMs, 20 * took);
  }

  /** Final meta, then closes the data file. Idempotent. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    try {
      this.flush();
    } finally {
      this.closed = true;
      closeSync(this.fd);
    }
  }

  /** Runs a file operation, turning a system error into AkbError('RECORDING_FAILED'). */
  private guard(path: string, body: () => void): void {
    try {
      body();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
      throw new AkbError('RECORDING_FAILED', `cannot write ${path}: ${code}`, { hint: 'check the free space and permissions of the recording folder', cause: e });
    }
  }

  private flushIfDue(): void {
    if (!this.dirty || performance.now() < this.nextFlushAt) return;
    try {
      this.flush();
    } catch {
      // A failed periodic rewrite leaves the previous meta in place; close() tries again and reports.
    }
  }
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i]!, true);
  return out;
}
