/**
 * Detection through a shell on a serial console: a ProbeFileSystem whose files are read by commands
 * run over the line (`head -c`, `test -e`, `uname -m`), so the same scorer ranks a board that is only
 * reachable by its console. The line is injected (bytes out, bytes in), so this package needs no serial
 * library: the CLI gives it a serialport, the tests a pseudo-terminal.
 *
 * Every command is framed by markers unique to it, written so that the echo of the command line never
 * contains them (`printf '%s%s' '@@akb-<id>' '-begin@@'` echoes the two halves apart), so echo, prompts
 * and a banner before or after do not confuse it. Output comes back as `od` hex, which no terminal
 * mangles (NUL bytes, CR/LF conversion, control characters). Every answer is bounded: at most
 * MAX_SHELL_READ bytes read on the board, at most that many hex lines accepted here, an idle limit and a
 * total limit per command. Paths are single-quoted, and a path holding a control character (which the
 * terminal itself would act on: ^C, ^D, a newline) is refused before anything is written.
 *
 * A console that does not answer, shows a login prompt, answers bytes that are not a shell's, or floods
 * the line ends the probe with one AkbError; detection then reports that error instead of a ranking.
 */
import { randomBytes } from 'node:crypto';
import { AkbError } from '@akb/protocol';
import { ELF_HEAD_BYTES, userlandOfElf } from './arch.js';
import { SOURCE_PATHS, type ProbeFileSystem } from './detect.js';

/** A byte line: a serial port, a pseudo-terminal, a socket. */
export interface ByteLine {
  write(bytes: Uint8Array): void | Promise<void>;
  /** Calls `listener` with every chunk received; returns a function that stops the calls. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
}

export interface ShellProbeOptions {
  /** Folder on the board the probed paths are under (default `/`); a test points it at a fixture. */
  root?: string;
  /** Longest silence within one answer, ms (default 3000). */
  idleMs?: number;
  /** Longest time for one answer, ms (default 30000). */
  totalMs?: number;
}

/** The most bytes of one file read on the board (detection matches heads of small files). */
export const MAX_SHELL_READ = 64 * 1024;
/** The most characters accepted for one answer: the hex of MAX_SHELL_READ bytes, with room for echo. */
const MAX_ANSWER_CHARS = MAX_SHELL_READ * 3 + 64 * 1024;
const MAX_PATH = 1024;

/** A path as one single-quoted shell word; AkbError for a path the terminal would act on. */
export function shellQuote(path: string): string {
  if (path.length > MAX_PATH || [...path].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw new AkbError('BAD_PATH', `refusing to send a path with control characters or over ${MAX_PATH} characters to the console`, {
      hint: 'probe paths are plain absolute paths',
    });
  }
  return `'${path.replaceAll("'", "'\\''")}'`;
}

interface Pending {
  begin: string;
  end: string;
  text: string;
  resolve: (answer: { status: number; bytes: Buffer }) => void;
  reject: (error: unknown) => void;
  idle?: NodeJS.Timeout;
  total?: NodeJS.Timeout;
}

/** A shell on a serial line, probed one command at a time. Call `close()` when done. */
export class ShellProbe implements ProbeFileSystem {
  private readonly root: string;
  private readonly idleMs: number;
  private readonly totalMs: number;
  private readonly unsubscribe: () => void;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Pending | undefined;
  /** The last bytes heard while no command ran (a banner, a login prompt), for the error of the next one. */
  private between = '';
  /** The first line-level failure; every later command fails with it. */
  failure: AkbError | undefined;

  constructor(
    private readonly line: ByteLine,
    options: ShellProbeOptions = {},
  ) {
    this.root = (options.root ?? '/').replace(/\/+$/u, '');
    this.idleMs = options.idleMs ?? 3000;
    this.totalMs = options.totalMs ?? 30_000;
    this.unsubscribe = line.onData((bytes) => this.receive(bytes));
  }

  close(): void {
    this.unsubscribe();
    if (this.pending) this.fail(this.pending, new AkbError('CONSOLE_CLOSED', 'the serial console probe was closed'));
  }

  /** Checks that a shell answers; AkbError naming what the console does instead. */
  async hello(): Promise<void> {
    await this.line.write(Buffer.from('\r'));
    await this.run('true');
  }

  async readFile(path: string): Promise<string> {
    return (await this.readBytes(path, MAX_SHELL_READ)).toString('utf8');
  }

  async exists(path: string): Promise<boolean> {
    return (await this.run(`test -e ${shellQuote(this.under(path))}`)).status === 0;
  }

  async machine(): Promise<string | undefined> {
    if (this.root !== '') return this.readFile(SOURCE_PATHS.machine);
    const { status, bytes } = await this.run('uname -m | od -An -v -tx1');
    return status === 0 ? bytes.toString('utf8') : undefined;
  }

  async userland(): Promise<string | undefined> {
    return userlandOfElf(await this.readBytes(SOURCE_PATHS.userland, ELF_HEAD_BYTES));
  }

  private under(path: string): string {
    return `${this.root}${path}`;
  }

  private async readBytes(path: string, max: number): Promise<Buffer> {
    const quoted = shellQuote(this.under(path));
    const { status, bytes } = await this.run(`test -r ${quoted} && head -c ${max} -- ${quoted} | od -An -v -tx1`);
    if (status !== 0) throw new Error(`${path}: not readable on the console (status ${status})`);
    return bytes.subarray(0, max);
  }

  /** Runs one command line, after the previous one; resolves its exit status and decoded hex output. */
  private run(command: string): Promise<{ status: number; bytes: Buffer }> {
    const next = this.queue.then(() => this.runNow(command));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private runNow(command: string): Promise<{ status: number; bytes: Buffer }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = randomBytes(6).toString('hex');
    const begin = `@@akb-${id}-begin@@`;
    const end = `@@akb-${id}-end@@`;
    const line = `printf '%s%s\\n' '@@akb-${id}' '-begin@@'; ${command}; printf '\\n%s%s %s\\n' '@@akb-${id}' '-end@@' "$?"\n`;
    return new Promise((resolve, reject) => {
      const pending: Pending = { begin, end, text: '', resolve, reject };
      this.pending = pending;
      pending.total = setTimeout(() => this.fail(pending, this.silence(pending, this.totalMs)), this.totalMs);
      this.touch(pending);
      Promise.resolve()
        .then(() => this.line.write(Buffer.from(line, 'utf8')))
        .catch((cause: unknown) =>
        this.fail(pending, new AkbError('CONSOLE_WRITE', 'cannot write to the serial console', { cause, hint: 'is the port still there?' })),
      );
    });
  }

  private touch(pending: Pending): void {
    clearTimeout(pending.idle);
    pending.idle = setTimeout(() => this.fail(pending, this.silence(pending, this.idleMs)), this.idleMs);
  }

  private receive(bytes: Uint8Array): void {
    const pending = this.pending;
    if (pending === undefined) {
      this.between = (this.between + Buffer.from(bytes).toString('latin1')).slice(-4096);
      return;
    }
    pending.text += Buffer.from(bytes).toString('latin1');
    if (pending.text.length > MAX_ANSWER_CHARS) {
      this.fail(pending, new AkbError('CONSOLE_FLOOD', `the serial console sent over ${MAX_ANSWER_CHARS} bytes for one command`, {
        hint: 'something else is writing to the console (a running program, kernel messages): stop it and retry',
      }));
      return;
    }
    this.touch(pending);
    const start = pending.text.indexOf(pending.begin);
    if (start < 0) return;
    const tail = new RegExp(`${pending.end} (\\d{1,3})\\r?\\n`, 'u').exec(pending.text.slice(start));
    if (tail === null) return;
    const body = pending.text.slice(start + pending.begin.length, start + tail.index).trim();
    if (!/^[0-9a-f\s]*$/u.test(body)) {
      this.fail(pending, new AkbError('CONSOLE_GARBAGE', 'the serial console answered with something other than the command output', {
        hint: 'another program or kernel messages are writing to the console; quiet it (dmesg -n 1) and retry',
      }));
      return;
    }
    this.settle(pending);
    pending.resolve({ status: Number(tail[1]), bytes: Buffer.from(body.replace(/\s+/gu, ''), 'hex') });
  }

  /** The error for a command that got no complete answer, saying what the console did instead. */
  private silence(pending: Pending, ms: number): AkbError {
    const seen = this.between + pending.text;
    if (seen.length === 0) {
      return new AkbError('CONSOLE_SILENT', `nothing came back from the serial console in ${ms} ms`, {
        hint: 'check the port, the baud rate and the wiring (TX to RX), and that the board is on',
      });
    }
    if (/\blogin: |\bpassword:/iu.test(seen)) {
      return new AkbError('CONSOLE_LOGIN', 'the serial console shows a login prompt, not a shell', {
        hint: 'log in on the console first (or enable autologin on it), then detect again',
      });
    }
    const printable = seen.replace(/[^\t\n\r\u0020-\u007e]/gu, '').length;
    if (printable < seen.length * 0.8) {
      return new AkbError('CONSOLE_GARBAGE', 'the serial console answers with bytes that are not text', {
        hint: 'the baud rate is probably wrong: try --baud 115200 (or the board\'s console rate)',
      });
    }
    return new AkbError('CONSOLE_NO_SHELL', `the serial console answered, but no shell ran the probe command within ${ms} ms`, {
      hint: 'a bootloader or a program holds the console: get to a shell prompt on it, then detect again',
    });
  }

  private settle(pending: Pending): void {
    clearTimeout(pending.idle);
    clearTimeout(pending.total);
    if (this.pending === pending) this.pending = undefined;
  }

  private fail(pending: Pending, error: AkbError): void {
    this.settle(pending);
    this.failure ??= error;
    pending.reject(error);
  }
}

/** Ranks the profiles against a shell on `line`; a console failure is thrown, never a partial ranking. */
export async function probeOverShell<T>(line: ByteLine, options: ShellProbeOptions, detect: (probe: ProbeFileSystem) => Promise<T>): Promise<T> {
  const probe = new ShellProbe(line, options);
  try {
    await probe.hello();
    const result = await detect(probe);
    if (probe.failure) throw probe.failure;
    return result;
  } finally {
    probe.close();
  }
}
