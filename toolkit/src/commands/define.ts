/**
 * A command is a typed async function plus its yargs options. `defineCommand` wraps the function in
 * runCommand so a typed error becomes one line and an exit code, recorded on the context for cli.ts.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { runCommand, type Io } from '../run-command.js';

export interface CliContext {
  io: Io;
  exitCode: number;
}

export type AkbCommand = (ctx: CliContext) => CommandModule;

export interface CommandSpec<A> {
  command: string | string[];
  describe: string;
  builder: (y: Argv) => Argv<A>;
  run: (args: ArgumentsCamelCase<A>, io: Io) => Promise<void>;
}

export function defineCommand<A>(spec: CommandSpec<A>): AkbCommand {
  return (ctx) => ({
    command: spec.command,
    describe: spec.describe,
    builder: (y: Argv) => spec.builder(y),
    handler: async (args) => {
      ctx.exitCode = await runCommand(() => spec.run(args as ArgumentsCamelCase<A>, ctx.io), ctx.io);
    },
  });
}

/** A group command (`akb frame <sub>`) whose subcommands are modules too. */
export function defineGroup(command: string, describe: string, subcommands: AkbCommand[]): AkbCommand {
  return (ctx) => ({
    command,
    describe,
    builder: (y: Argv) => {
      for (const sub of subcommands) y.command(sub(ctx));
      return y.demandCommand(1, `name a subcommand; \`akb ${command.split(' ')[0]} --help\` lists them`);
    },
    handler: () => undefined,
  });
}
