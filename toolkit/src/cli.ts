#!/usr/bin/env node
/**
 * The `akb` entry point: yargs wiring only. Each command lives in its own module under commands/ and
 * imports its heavy dependencies lazily, so `akb --help` is instant. Only this file calls process.exit.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import type { CliContext } from './commands/define.js';
import { processIo } from './run-command.js';

const VERSION = '0.1.0';

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const ctx: CliContext = { io: processIo, exitCode: 0 };
  const parser = yargs(argv)
    .scriptName('akb')
    .usage('$0 <command> [options]\n\nTake AKB-JSCC models from training to the field.')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command; `akb --help` lists them')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      // Argument errors are the user's to fix. Throwing stops yargs before any handler runs; handlers'
      // own errors never reach here (runCommand catches them).
      throw new UsageError(message || (error instanceof Error ? error.message : 'invalid arguments'));
    });
  for (const command of commands) parser.command(command(ctx));
  try {
    await parser.parseAsync();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`akb: ${e.message} (see akb --help)\n`);
    return 2;
  }
  return ctx.exitCode;
}

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`akb: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(70);
  },
);
