/**
 * The receiving side of serial flashing (PROTOCOL.md, "Serial flashing"), run by `akb-agent receive`: it
 * answers HELLO with the offset it holds, takes DATA in order into `<dir>/serial/partial.akb`, persists
 * the offset with the SHA-256 of the bytes below it every 64 KiB (fsync, then `partial.json` by
 * write-rename), so a restarted receiver resumes; frames that arrive ahead of a gap are kept (at most a window
 * of them) so that the sender resends only what was lost (selective repeat); on DONE it checks the whole file's SHA-256 and hands it
 * to the caller's install (the agent's verified install: signature, profile, version, slots, health
 * check), sends BUSY with each phase and then RESULT. Frames are handled one at a time, in order.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSerialFrame, MAX_SERIAL_BUNDLE, MAX_SERIAL_DATA, SerialDeframer, type SerialFrame, type SerialStatus } from '@akb/protocol';
import type { SerialLine } from './line.js';

export interface ReceiveInstallOutcome {
  status: SerialStatus;
  code?: string;
  message: string;
}

export interface ReceiveOptions {
  /** The agent's data folder; the transfer lives in `<dir>/serial/`. */
  dir: string;
  /** Installs the complete, hash-checked bundle file. */
  install: (file: string, o: { force: boolean; onPhase: (phase: string) => void }) => Promise<ReceiveInstallOutcome>;
  /** Largest bundle accepted (default and at most 1 GiB). */
  maxBundleBytes?: number;
  /** Largest DATA payload accepted (default 4096) and window (default 16). */
  maxData?: number;
  window?: number;
  /** Bytes between two persisted offsets (default 64 KiB). */
  persistEvery?: number;
  /** A line for each event worth a log (session, resume, hash mismatch, result). */
  log?: (line: string) => void;
}

export interface ReceiveCounts {
  frames: number;
  badFrames: number;
  /** DATA frames not taken: duplicates, past the declared size, ahead of a gap beyond the window. */
  dropped: number;
  naks: number;
}

interface Session {
  size: number;
  sha: string;
  force: boolean;
  file: FileHandle;
  hash: Hash;
  expected: number;
  persisted: number;
  nakedAt: number;
  /** Out-of-order frames since the last NAK: a NAK is repeated every `window` of them. */
  sinceNak: number;
  /** Frames ahead of a gap, by offset: at most `window` of them, each at most maxData bytes. */
  ahead: Map<number, Uint8Array>;
  /** The window agreed in READY: frames kept ahead of a gap, and how many pass before a NAK is repeated. */
  window: number;
}

interface Persisted {
  v: 1;
  size: number;
  sha256: string;
  offset: number;
  prefixSha256: string;
}

/** Frames waiting to be handled, at most (a DATA frame holds at most 4 KiB: 4 MiB in all). */
const MAX_PENDING = 1024;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export class SerialReceiver {
  private readonly folder: string;
  private readonly partial: string;
  private readonly record: string;
  private readonly deframer: SerialDeframer;
  private chain: Promise<void> = Promise.resolve();
  private session: Session | undefined;
  private last: { sha: string; size: number; result: Extract<SerialFrame, { type: 'RESULT' }> } | undefined;
  private stop: (() => void) | undefined;
  private pending = 0;
  private resolveResult: ((r: ReceiveInstallOutcome) => void) | undefined;
  readonly counts: ReceiveCounts = { frames: 0, badFrames: 0, dropped: 0, naks: 0 };
  /** Resolves with the outcome of the first install this receiver runs. */
  readonly firstResult: Promise<ReceiveInstallOutcome>;

  constructor(private readonly line: SerialLine, private readonly opts: ReceiveOptions) {
    this.folder = join(opts.dir, 'serial');
    this.partial = join(this.folder, 'partial.akb');
    this.record = join(this.folder, 'partial.json');
    this.deframer = new SerialDeframer((f) => {
      this.counts.frames++;
      // While an install runs frames wait their turn; past MAX_PENDING (a flood) they are dropped.
      if (this.pending >= MAX_PENDING) {
        this.counts.dropped++;
        return;
      }
      this.pending++;
      this.chain = this.chain
        .then(() => this.handle(f))
        .catch((e: unknown) => this.log(`receive: ${(e as Error).message}`))
        .finally(() => this.pending--);
    });
    this.firstResult = new Promise((resolve) => (this.resolveResult = resolve));
  }

  start(): void {
    this.stop = this.line.onData((b) => {
      this.deframer.push(b);
      this.counts.badFrames = this.deframer.counts.bad;
    });
  }

  /** Stops listening, waits for the frame in hand, closes the partial file (what was persisted stays). */
  async close(): Promise<void> {
    this.stop?.();
    await this.chain;
    await this.session?.file.close();
    this.session = undefined;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private send(f: SerialFrame): Promise<void> {
    return Promise.resolve(this.line.write(encodeSerialFrame(f)));
  }

  private async handle(f: SerialFrame): Promise<void> {
    if (f.type === 'HELLO') return this.hello(f);
    if (f.type === 'DATA') return this.data(f);
    if (f.type === 'DONE') return this.done(f);
    // READY, ACK, NAK, RESULT, BUSY are the receiver's own kinds: ignored.
  }

  private async hello(f: Extract<SerialFrame, { type: 'HELLO' }>): Promise<void> {
    const max = Math.min(MAX_SERIAL_BUNDLE, this.opts.maxBundleBytes ?? MAX_SERIAL_BUNDLE);
    if (f.size > max || f.size === 0) {
      await this.send({ type: 'RESULT', status: 'refused', code: 'TOO_LARGE', message: `a bundle of ${f.size} bytes: this board takes 1 to ${max}` });
      return;
    }
    const sha = hex(f.sha256);
    if (!this.session || this.session.sha !== sha || this.session.size !== f.size) {
      await this.session?.file.close();
      this.session = await this.openSession(f.size, sha, f.force);
    }
    this.session.force = f.force;
    this.session.window = Math.min(f.window, this.opts.window ?? 16);
    await this.send({
      type: 'READY',
      offset: this.session.expected,
      maxData: Math.min(f.maxData, this.opts.maxData ?? MAX_SERIAL_DATA),
      window: this.session.window,
    });
  }

  /** The partial file for this bundle: resumed when partial.json names it and its prefix hashes right. */
  private async openSession(size: number, sha: string, force: boolean): Promise<Session> {
    await mkdir(this.folder, { recursive: true });
    const saved = await this.readRecord();
    const hash = createHash('sha256');
    let offset = 0;
    if (saved && saved.sha256 === sha && saved.size === size && saved.offset <= size) {
      let n = 0;
      const check = createHash('sha256');
      try {
        for await (const chunk of createReadStream(this.partial, { start: 0, end: saved.offset - 1 })) {
          check.update(chunk as Buffer);
          hash.update(chunk as Buffer);
          n += (chunk as Buffer).length;
        }
      } catch {
        n = -1;
      }
      if (saved.offset === 0 || (n === saved.offset && check.digest('hex') === saved.prefixSha256)) offset = saved.offset;
      else this.log(`receive: ${this.partial} does not match partial.json: starting over`);
    }
    const h = offset === 0 ? createHash('sha256') : hash;
    const file = await open(this.partial, offset === 0 ? 'w+' : 'r+');
    await file.truncate(offset);
    const session: Session = { size, sha, force, file, hash: h, expected: offset, persisted: offset, nakedAt: -1, sinceNak: 0, ahead: new Map(), window: this.opts.window ?? 16 };
    if (offset === 0) await this.persist(session);
    this.log(offset > 0 ? `receive: resuming ${sha.slice(0, 12)} at ${offset} of ${size} bytes` : `receive: new bundle ${sha.slice(0, 12)}, ${size} bytes`);
    return session;
  }

  private async readRecord(): Promise<Persisted | undefined> {
    try {
      const text = await readFile(this.record, 'utf8');
      if (text.length > 4096) return undefined;
      const v = JSON.parse(text) as Partial<Persisted>;
      const ok = v.v === 1 && Number.isSafeInteger(v.size) && Number.isSafeInteger(v.offset) && typeof v.sha256 === 'string' && typeof v.prefixSha256 === 'string';
      return ok ? (v as Persisted) : undefined;
    } catch {
      return undefined;
    }
  }

  /** fsync the file, then record the offset and the prefix's hash (tmp, rename). */
  private async persist(s: Session): Promise<void> {
    await s.file.datasync();
    const record: Persisted = { v: 1, size: s.size, sha256: s.sha, offset: s.expected, prefixSha256: s.hash.copy().digest('hex') };
    await writeFile(`${this.record}.tmp`, `${JSON.stringify(record)}\n`);
    await rename(`${this.record}.tmp`, this.record);
    s.persisted = s.expected;
  }

  private async data(f: Extract<SerialFrame, { type: 'DATA' }>): Promise<void> {
    const s = this.session;
    if (!s) {
      this.counts.dropped++;
      return; // no HELLO yet (a restarted receiver): the sender's timeouts lead it to HELLO
    }
    if (f.offset + f.data.length > s.size) {
      this.counts.dropped++; // past the declared size: never written
      return;
    }
    const window = s.window;
    if (f.offset < s.expected) {
      this.counts.dropped++; // a duplicate: say again where we are
      await this.send({ type: 'ACK', seq: f.seq, offset: s.expected, window });
      return;
    }
    if (f.offset > s.expected) {
      // Ahead of a gap: kept (selective repeat) when within the window, and the gap NAKed.
      if (s.ahead.size < window && f.offset - s.expected < window * MAX_SERIAL_DATA) s.ahead.set(f.offset, f.data);
      else this.counts.dropped++;
      await this.nak(s, window);
      return;
    }
    await this.take(s, f.data);
    for (let next = s.ahead.get(s.expected); next; next = s.ahead.get(s.expected)) {
      s.ahead.delete(s.expected);
      await this.take(s, next);
    }
    for (const o of s.ahead.keys()) if (o < s.expected) s.ahead.delete(o);
    if (s.expected - s.persisted >= (this.opts.persistEvery ?? 64 * 1024)) await this.persist(s);
    await this.send({ type: 'ACK', seq: f.seq, offset: s.expected, window });
    if (s.ahead.size > 0) await this.nak(s, window); // another gap behind what was kept
  }

  /** Writes bytes at the expected offset and hashes them. */
  private async take(s: Session, data: Uint8Array): Promise<void> {
    if (s.expected + data.length > s.size) return;
    await s.file.write(data, 0, data.length, s.expected);
    s.hash.update(data);
    s.expected += data.length;
  }

  /** NAK the gap at the expected offset: once, and again after every `window` frames that still miss it. */
  private async nak(s: Session, window: number): Promise<void> {
    if (s.nakedAt === s.expected && ++s.sinceNak < Math.max(2, window - 1)) return;
    s.nakedAt = s.expected;
    s.sinceNak = 0;
    this.counts.naks++;
    await this.send({ type: 'NAK', offset: s.expected });
  }

  private async done(f: Extract<SerialFrame, { type: 'DONE' }>): Promise<void> {
    const s = this.session;
    if (!s) {
      if (this.last && this.last.size === f.size) await this.send(this.last.result);
      else await this.send({ type: 'NAK', offset: 0 });
      return;
    }
    if (s.expected < s.size) {
      await this.send({ type: 'NAK', offset: s.expected });
      return;
    }
    await this.persist(s);
    await s.file.close();
    this.session = undefined;
    const digest = s.hash.digest('hex');
    let outcome: ReceiveInstallOutcome;
    if (digest !== s.sha) {
      outcome = { status: 'error', code: 'HASH_MISMATCH', message: `the received bundle's SHA-256 is ${digest.slice(0, 12)}…, the sender announced ${s.sha.slice(0, 12)}…: nothing installed` };
    } else {
      outcome = await this.opts
        .install(this.partial, { force: s.force, onPhase: (phase) => void this.send({ type: 'BUSY', phase: phase.slice(0, 200) }).catch(() => undefined) })
        .catch((e: unknown) => ({ status: 'error' as const, code: typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'INSTALL_ERROR', message: (e as Error).message }));
    }
    await rm(this.record, { force: true });
    await rm(this.partial, { force: true });
    const code = (outcome.code ?? '').replace(/[^A-Z0-9_]/gu, '_').slice(0, 64);
    const result = { type: 'RESULT' as const, status: outcome.status, code, message: outcome.message };
    this.last = { sha: s.sha, size: s.size, result };
    this.log(`receive: ${outcome.status}${code ? ` (${code})` : ''}: ${outcome.message}`);
    await this.send(result);
    this.resolveResult?.(outcome);
  }
}
