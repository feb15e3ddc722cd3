/**
 * The host's end of a console pty as a ConsoleLine, for the bootstrap tests and bench: Node's own tty
 * stream on the pty socat made, with optional faults on the way to the board (bytes flipped or dropped
 * at a seeded rate, switched on when the test says) and optional pacing of what is written to a line
 * rate (a pty moves bytes as fast as they come; 8N1: 10 bits a byte), so throughput is a share of it.
 */
import { closeSync, constants, openSync, write } from 'node:fs';
import { ReadStream } from 'node:tty';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsoleLine } from '../../toolkit/flash/src/bootstrap/index.js';

export interface LineFaults {
  /** Chance per byte that one of its bits is flipped. */
  flip: number;
  /** Chance per byte that it is dropped. */
  drop: number;
  seed: number;
}

export interface PtyLine extends ConsoleLine {
  /** Faults from now on (undefined: none). */
  faults: LineFaults | undefined;
  flipped: number;
  dropped: number;
  written: number;
  close(): void;
}

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function openPtyLine(path: string, o: { baud?: number } = {}): PtyLine {
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  const input = new ReadStream(fd);
  let rand = random(1);
  let seeded: number | undefined;
  const raw = (bytes: Uint8Array): Promise<void> => new Promise((resolve, reject) => write(fd, bytes, (e) => (e ? reject(e) : resolve())));
  let clock = performance.now();
  const line: PtyLine = {
    faults: undefined,
    flipped: 0,
    dropped: 0,
    written: 0,
    async write(bytes) {
      let out = Buffer.from(bytes);
      const f = line.faults;
      if (f) {
        if (seeded !== f.seed) {
          rand = random(f.seed);
          seeded = f.seed;
        }
        const kept: number[] = [];
        for (const b of out) {
          if (rand() < f.drop) {
            line.dropped++;
            continue;
          }
          if (rand() < f.flip) {
            line.flipped++;
            kept.push(b ^ (1 << Math.floor(rand() * 8)));
          } else kept.push(b);
        }
        out = Buffer.from(kept);
      }
      line.written += out.length;
      if (o.baud === undefined) return raw(out);
      // paced: slices of 10 ms of line time, each sent when the line would have carried it
      const perSlice = Math.max(1, Math.floor(o.baud / 10 / 100));
      for (let i = 0; i < out.length; i += perSlice) {
        const slice = out.subarray(i, i + perSlice);
        clock = Math.max(clock, performance.now()) + (slice.length * 10 * 1000) / o.baud;
        const wait = clock - performance.now();
        if (wait > 1) await sleep(wait);
        await raw(slice);
      }
    },
    onData(listener) {
      input.on('data', listener);
      return () => input.off('data', listener);
    },
    close() {
      input.destroy();
      try {
        closeSync(fd);
      } catch {
        // already closed by the stream
      }
    },
  };
  return line;
}
