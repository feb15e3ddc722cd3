/**
 * The one place where a command's outcome becomes an exit code. Typed errors print one line; anything
 * else is a bug, printed as one line too, with the stack only when AKB_DEBUG is set.
 */
import { isAkbError } from '@akb/protocol';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Runs `fn`, returns the exit code to use; never throws. */
export async function runCommand(fn: () => Promise<void>, io: Io = processIo): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (e) {
    if (isAkbError(e)) {
      io.err(`akb: ${e.toLine()}`);
      return e.exitCode;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.err(`akb: internal error: ${message} (this is a bug; rerun with AKB_DEBUG=1 for the stack and report it)`);
    if (process.env.AKB_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return 70;
  }
}

/** Prints `value` as JSON when `json` is set, else the human lines. */
export function emit(io: Io, json: boolean, value: unknown, human: () => string[]): void {
  if (json) io.out(JSON.stringify(value, null, 2));
  else for (const line of human()) io.out(line);
}
