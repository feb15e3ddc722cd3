/**
 * The one place where a command's outcome becomes an exit code. Typed errors print one line; anything
 * else is a bug, printed as one line too, with the stack only when AKB_DEBUG is set.
 */
import { describeError } from '@akb/protocol';

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
    const { lines, exitCode } = describeError(e, 'akb', Boolean(process.env.AKB_DEBUG));
    for (const line of lines) io.err(line);
    return exitCode;
  }
}

/** Prints `value` as JSON when `json` is set, else the human lines. */
export function emit(io: Io, json: boolean, value: unknown, human: () => string[]): void {
  if (json) io.out(JSON.stringify(value, null, 2));
  else for (const line of human()) io.out(line);
}
