/**
 * Commands on the board's shell, one at a time, each framed by markers unique to it and written so that
 * the echo of the command line never contains them (`printf '%s%s' '@@b<id>' '@@'` echoes the halves
 * apart): echo, prompts and a banner around the answer do not confuse it. An answer is bounded (the
 * console keeps at most MAX_CONSOLE_BUFFER characters) and has a time limit; a command whose answer
 * never comes (a byte error ate part of it) can be run again, after ^C and a newline end what the shell
 * holds (a damaged quote leaves it waiting for more). `check` runs a command again when it fails, since
 * a byte error can damage the command itself: every command the bootstrap runs can be run twice.
 */
import { randomBytes } from 'node:crypto';
import { AkbError } from '@akb/protocol';
import type { ConsoleText } from './console.js';

export interface ShellAnswer {
  status: number;
  /** What the command printed, CR LF turned into LF. */
  output: string;
}

/** A login shell on the console. */
export class BoardShell {
  constructor(
    readonly console: ConsoleText,
    /** Default time limit of one command, ms. */
    readonly timeoutMs = 10_000,
  ) {}

  /** Runs `command` (one line); undefined when no framed answer came within the limit. */
  async tryRun(command: string, timeoutMs = this.timeoutMs): Promise<ShellAnswer | undefined> {
    const id = randomBytes(4).toString('hex');
    this.console.clear();
    await this.console.write(`printf '%s%s\\n' '@@b${id}' '@@'; ${command}; printf '%s%s %s\\n' '@@e${id}' '@@' "$?"\n`);
    const m = await this.console.waitFor(new RegExp(`@@b${id}@@\\r?\\n([\\s\\S]*?)@@e${id}@@ (\\d+)`, 'u'), timeoutMs);
    if (!m) return undefined;
    return { status: Number(m[2]), output: m[1]!.replaceAll('\r\n', '\n') };
  }

  /** Runs `command`, again up to `tries` times when its answer is lost; AkbError when none comes. */
  async run(command: string, o: { tries?: number; timeoutMs?: number } = {}): Promise<ShellAnswer> {
    const tries = o.tries ?? 3;
    for (let i = 0; i < tries; i++) {
      const answer = await this.tryRun(command, o.timeoutMs);
      if (answer) return answer;
      await this.console.write('\x03\n');
    }
    throw new AkbError('CONSOLE_SILENT', `the board's shell did not answer "${command.slice(0, 40)}" (${tries} tries; last heard: ${this.console.tail()})`, {
      hint: 'check the line (baud rate, cable) and that the shell on the console is still there',
    });
  }

  /** Runs `command` (again, up to `tries` times, while it fails) and requires exit status 0. */
  async check(command: string, what: string, o: { tries?: number; timeoutMs?: number } = {}): Promise<string> {
    let answer = await this.run(command, o);
    for (let i = 1; i < (o.tries ?? 3) && answer.status !== 0; i++) answer = await this.run(command, o);
    if (answer.status !== 0) {
      const said = answer.output.trim().split('\n').at(-1)?.slice(0, 120) ?? '';
      throw new AkbError('BOOTSTRAP_COMMAND', `${what} failed on the board (exit ${answer.status}${said ? `: ${said}` : ''})`, {
        hint: 'the board needs a writable folder (--board-dir) and POSIX sh tools',
      });
    }
    return answer.output;
  }
}

/** A string as one single-quoted shell word; AkbError for one the terminal would act on. */
export function shellWord(s: string): string {
  if (s.length > 1024 || [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw new AkbError('BAD_PATH', 'refusing to send a word with control characters or over 1024 characters to the console', {
      hint: 'use a plain path',
    });
  }
  return `'${s.replaceAll("'", "'\\''")}'`;
}
