/**
 * The board's serial console as text the bootstrap can wait on: bytes from the line are appended to a
 * bounded buffer (the last MAX_CONSOLE_BUFFER characters; a flooding console cannot grow it), and callers
 * wait for a pattern with a time limit, consuming what matched. The line is injected (bytes out, bytes
 * in: a serialport, a pseudo-terminal), so the same code runs in tests against a real login shell.
 */
import { AkbError } from '@akb/protocol';

/** A byte line (the same shape as @akb/devices' ByteLine). */
export interface ConsoleLine {
  write(bytes: Uint8Array): void | Promise<void>;
  /** Calls `listener` with every chunk received; returns a function that stops the calls. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
}

/** The most characters kept from the console; older ones are dropped. */
export const MAX_CONSOLE_BUFFER = 64 * 1024;

interface Waiter {
  pattern: RegExp;
  resolve: (m: RegExpExecArray) => void;
  timer: NodeJS.Timeout;
  reject: (e: unknown) => void;
}

/** What the console said, waited on by pattern. Call `close()` when done. */
export class ConsoleText {
  private text = '';
  private waiter: Waiter | undefined;
  private readonly unsubscribe: () => void;
  /** Every character received, for figures (bytes back from the board). */
  received = 0;

  constructor(private readonly line: ConsoleLine) {
    this.unsubscribe = line.onData((bytes) => this.receive(bytes));
  }

  async write(text: string | Uint8Array): Promise<void> {
    await this.line.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  /** Drops what was received so far (before a command whose answer must not match stale text). */
  clear(): void {
    this.text = '';
  }

  /** The last `n` characters received, with control characters shown, for error messages. */
  tail(n = 60): string {
    return JSON.stringify(this.text.slice(-n));
  }

  /**
   * Resolves with the first match of `pattern` in what was received (consuming the text up to the end of
   * the match), or undefined after `ms` without one. A global or sticky flag is not allowed.
   */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpExecArray | undefined> {
    if (this.waiter) throw new AkbError('BOOTSTRAP_BUSY', 'the bootstrap console waits for two things at once (a bug)');
    const now = this.take(pattern);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, ms);
      this.waiter = { pattern, resolve, reject, timer };
    });
  }

  close(): void {
    this.unsubscribe();
    if (this.waiter) {
      clearTimeout(this.waiter.timer);
      this.waiter.reject(new AkbError('CONSOLE_CLOSED', 'the bootstrap console was closed'));
      this.waiter = undefined;
    }
  }

  private take(pattern: RegExp): RegExpExecArray | undefined {
    const m = pattern.exec(this.text);
    if (!m) return undefined;
    this.text = this.text.slice(m.index + m[0].length);
    return m;
  }

  private receive(bytes: Uint8Array): void {
    this.received += bytes.length;
    this.text += Buffer.from(bytes).toString('latin1');
    if (this.text.length > MAX_CONSOLE_BUFFER) this.text = this.text.slice(-MAX_CONSOLE_BUFFER);
    const w = this.waiter;
    if (!w) return;
    const m = this.take(w.pattern);
    if (!m) return;
    clearTimeout(w.timer);
    this.waiter = undefined;
    w.resolve(m);
  }
}
