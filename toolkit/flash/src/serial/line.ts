/**
 * The byte line serial flashing runs over, and a board's tty opened as one without a native addon: `stty`
 * (coreutils or busybox, on every board) puts the port in raw 8N1 at the baud rate, and Node's own tty
 * stream (non-blocking, epoll) reads and writes it. So the receiver needs nothing but Node, which matters
 * for a bootstrapped board where the agent arrives before any native addon.
 */
import { execFile } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { AkbError } from '@akb/protocol';

/** A full-duplex byte line: node-serialport, a tty, a test's pipe. */
export interface SerialLine {
  write(bytes: Uint8Array): void | Promise<void>;
  /** Calls `listener` with every chunk received; returns a function that stops the calls. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  /** Calls `listener` once if the line closes under us (a port unplugged); optional. */
  onClose?(listener: (reason: string) => void): () => void;
}

export interface OpenedSerialLine extends SerialLine {
  close(): Promise<void>;
}

const STTY_RAW = ['raw', '-echo', '-echoe', '-echok', '-echoctl', '-ixon', '-ixoff', '-crtscts', 'cs8', '-cstopb', '-parenb', 'clocal'];

function stty(path: string, baud: number): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('stty', ['-F', path, String(baud), ...STTY_RAW], { timeout: 10_000 }, (error, _out, stderr) =>
      error
        ? reject(new AkbError('PORT_OPEN', `cannot set ${path} to raw ${baud} baud: ${String(stderr).trim().split('\n')[0] || error.message}`, { hint: 'check the path, that it is a serial port, and your access to it (group dialout)' }))
        : resolve(),
    ),
  );
}

/** Opens a tty (a UART or a pty) as a SerialLine in raw 8N1 at `baud`. */
export async function openTtyLine(path: string, baud: number): Promise<OpenedSerialLine> {
  if (!Number.isInteger(baud) || baud <= 0 || baud > 16_000_000) {
    throw new AkbError('BAD_OPTION', `--baud must be a positive whole number of bits per second, got ${String(baud)}`, { exitCode: 2 });
  }
  await stty(path, baud);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  } catch (e) {
    throw new AkbError('PORT_OPEN', `cannot open the serial port ${path}: ${(e as Error).message}`, { hint: 'check the path and your access to it (group dialout)' });
  }
  const stream = new ReadStream(fd);
  stream.on('error', () => undefined); // surfaces as 'close' to onClose listeners
  return {
    write: (bytes) => new Promise<void>((resolve, reject) => stream.write(bytes, (e) => (e ? reject(new AkbError('LINE_CLOSED', `the line ${path} failed: ${e.message}`)) : resolve()))),
    onData: (listener) => {
      const on = (b: Buffer): void => listener(b);
      stream.on('data', on);
      return () => stream.off('data', on);
    },
    onClose: (listener) => {
      const on = (): void => listener(`the line ${path} closed`);
      stream.once('close', on);
      return () => stream.off('close', on);
    },
    close: () => new Promise<void>((resolve) => {
      if (stream.destroyed) return resolve();
      stream.once('close', () => resolve());
      stream.destroy();
    }),
  };
}

/** Frames arriving from a line, awaited one at a time with a time limit. */
export class FrameInbox<T> {
  private readonly queue: T[] = [];
  private waiter: ((v: T | undefined) => void) | undefined;
  private closed: string | undefined;
  private static readonly MAX_QUEUED = 4096;

  push(v: T): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(v);
    } else if (this.queue.length < FrameInbox.MAX_QUEUED) this.queue.push(v);
  }

  close(reason: string): void {
    this.closed = reason;
    this.waiter?.(undefined);
    this.waiter = undefined;
  }

  /** The next frame, or undefined after `ms` without one. Throws LINE_CLOSED once the line is gone. */
  async next(ms: number): Promise<T | undefined> {
    if (this.queue.length > 0) return this.queue.shift();
    if (this.closed !== undefined) throw new AkbError('LINE_CLOSED', this.closed, { hint: 'reconnect and run akb flash again: it resumes from what the board holds' });
    const v = await new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, ms);
      this.waiter = (x) => {
        clearTimeout(timer);
        resolve(x);
      };
    });
    if (v === undefined && this.closed !== undefined) throw new AkbError('LINE_CLOSED', this.closed, { hint: 'reconnect and run akb flash again: it resumes from what the board holds' });
    return v;
  }
}
