/**
 * A serial line between two programs made of two socat pty pairs and this relay: the host opens
 * `<dir>/host`, the board `<dir>/board`; the relay holds the two peers and forwards each direction at a
 * line rate (ptys take bytes as fast as they come, so the relay paces them: 10 bits a byte, 8N1), with
 * faults: each byte corrupted (one random bit flipped) with probability `byteErrorRate`, dropped with
 * `dropRate`, and `cut(ms)`: nothing passes for a while, as if the cable were pulled. Seeded, so a run
 * replays. Counts what it did, for the test's report.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTtyLine, type OpenedSerialLine } from '@akb/flash';
import { socatPty, type SocatPty } from './pty.js';

export interface RelayFaults {
  byteErrorRate: number;
  dropRate: number;
}

export interface RelayCounts {
  bytes: number;
  corrupted: number;
  dropped: number;
  cutBytes: number;
}

const TICK_MS = 4;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One direction: a queue drained at `bytesPerSecond`, faults applied as bytes leave. */
class PacedPipe {
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private since = 0;
  private sentSince = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly relay: LineRelay, private readonly to: OpenedSerialLine, private readonly bytesPerSecond: number, private readonly random: () => number) {
    this.timer = setInterval(() => this.pump(), TICK_MS);
  }

  push(chunk: Uint8Array): void {
    if (this.queued === 0) {
      this.since = Date.now();
      this.sentSince = 0;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  private pump(): void {
    if (this.queued === 0) return;
    const allowed = Math.floor(((Date.now() - this.since) / 1000) * this.bytesPerSecond) - this.sentSince;
    if (allowed <= 0) return;
    const out: number[] = [];
    let n = 0;
    while (n < allowed && this.queue.length > 0) {
      const head = this.queue[0]!;
      const take = Math.min(head.length, allowed - n);
      for (let i = 0; i < take; i++) out.push(head[i]!);
      n += take;
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
    }
    this.queued -= n;
    this.sentSince += n;
    const passed = this.relay.applyFaults(out, this.random);
    if (passed.length > 0) void Promise.resolve(this.to.write(Uint8Array.from(passed))).catch(() => undefined);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export class LineRelay {
  readonly faults: RelayFaults = { byteErrorRate: 0, dropRate: 0 };
  readonly counts: RelayCounts = { bytes: 0, corrupted: 0, dropped: 0, cutBytes: 0 };
  private cutUntil = 0;
  private pipes: PacedPipe[] = [];
  private lines: OpenedSerialLine[] = [];
  private ptys: SocatPty[] = [];

  private constructor(readonly hostPath: string, readonly boardPath: string) {}

  /** Two pty pairs in `dir` (a fresh temp folder by default) joined at `baud` bits/s. */
  static async start(o: { baud: number; dir?: string; seed?: number; faults?: Partial<RelayFaults> }): Promise<LineRelay> {
    const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'akb-relay-')));
    const host = await socatPty(dir, 'host', undefined);
    const board = await socatPty(dir, 'board', undefined);
    const relay = new LineRelay(host.path, board.path);
    Object.assign(relay.faults, o.faults ?? {});
    relay.ptys = [host, board];
    const hostPeer = await openTtyLine(`${host.path}.peer`, o.baud);
    const boardPeer = await openTtyLine(`${board.path}.peer`, o.baud);
    relay.lines = [hostPeer, boardPeer];
    const seed = o.seed ?? 1;
    const toBoard = new PacedPipe(relay, boardPeer, o.baud / 10, rng(seed));
    const toHost = new PacedPipe(relay, hostPeer, o.baud / 10, rng(seed + 1));
    relay.pipes = [toBoard, toHost];
    hostPeer.onData((b) => toBoard.push(Uint8Array.from(b)));
    boardPeer.onData((b) => toHost.push(Uint8Array.from(b)));
    return relay;
  }

  /** Nothing passes, either way, for `ms`. */
  cut(ms: number): void {
    this.cutUntil = Date.now() + ms;
  }

  /** The bytes of `out` that reach the other end, after the faults. */
  applyFaults(out: number[], random: () => number): number[] {
    this.counts.bytes += out.length;
    if (Date.now() < this.cutUntil) {
      this.counts.cutBytes += out.length;
      return [];
    }
    const { byteErrorRate, dropRate } = this.faults;
    if (byteErrorRate === 0 && dropRate === 0) return out;
    const passed: number[] = [];
    for (const b of out) {
      const r = random();
      if (r < dropRate) {
        this.counts.dropped++;
        continue;
      }
      if (r < dropRate + byteErrorRate) {
        this.counts.corrupted++;
        passed.push(b ^ (1 << Math.floor(random() * 8)));
      } else passed.push(b);
    }
    return passed;
  }

  async stop(): Promise<void> {
    for (const p of this.pipes) p.stop();
    for (const l of this.lines) await l.close();
    for (const p of this.ptys) await p.stop();
  }
}
