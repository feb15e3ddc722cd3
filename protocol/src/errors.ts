/**
 * Typed errors. Everything akb throws on purpose is an AkbError: a stable `code` a program can switch on,
 * a message a person can act on, and an optional `hint` saying what to do next. The CLI prints
 * `akb: <message> (<hint>)` on one line and exits with `exitCode`; a stack trace is a bug.
 */
export class AkbError extends Error {
  override readonly name: string = 'AkbError';
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }

  /** One line for a person: the message and, when there is one, what to do. */
  toLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

/** Codes a frame or message decoder may report. Decoders throw nothing else on hostile input. */
export type ProtocolErrorCode =
  | 'TRUNCATED'
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'BAD_HEADER'
  | 'BAD_LENGTH'
  | 'BAD_DTYPE'
  | 'BAD_FRAGMENT'
  | 'CRC_MISMATCH'
  | 'TOO_LARGE'
  | 'INCONSISTENT_FRAGMENT'
  | 'BAD_JSON'
  | 'SCHEMA_VIOLATION'
  | 'BAD_TOPIC';

/** Raised by every protocol decoder (frames, JSON messages, topics) on input it cannot accept. */
export class ProtocolError extends AkbError {
  override readonly name: string = 'ProtocolError';
  declare readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** True when `e` is an AkbError (also across module copies, by duck typing on the fields). */
export function isAkbError(e: unknown): e is AkbError {
  return e instanceof AkbError || (e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && 'toLine' in e);
}

/**
 * What a program's entry point prints for an error it caught, and the exit code to use: a typed error is
 * one line; anything else is a bug (exit 70, EX_SOFTWARE), with the stack only when `debug` is set.
 */
export function describeError(e: unknown, program: string, debug = false): { lines: string[]; exitCode: number } {
  if (isAkbError(e)) return { lines: [`${program}: ${e.toLine()}`], exitCode: e.exitCode };
  const message = e instanceof Error ? e.message : String(e);
  const lines = [`${program}: internal error: ${message} (this is a bug; rerun with AKB_DEBUG=1 for the stack and report it)`];
  if (debug && e instanceof Error && e.stack) lines.push(e.stack);
  return { lines, exitCode: 70 };
}
