/**
 * `@akb/protocol/log` (pino, an optional peer dependency). One pino logger per module, named `akb:<module>`, writing JSON lines to stderr so stdout stays for
 * results (`--json`). The level comes from AKB_LOG_LEVEL (default: warn for the CLI, so a person sees
 * results, not chatter).
 */
import { pino, type Logger } from 'pino';

let root: Logger | undefined;

function rootLogger(): Logger {
  root ??= pino({ name: 'akb', level: process.env.AKB_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  return root;
}

export function createLogger(module: string): Logger {
  return rootLogger().child({ module });
}
