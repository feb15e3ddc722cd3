import { defineCommand, defineGroup } from './define.js';
import { readInput } from './read-input.js';

const validate = defineCommand({
  command: 'validate <kind> <file>',
  describe: 'Check a JSON message (a model card, a profile, a config...) against its schema; - reads stdin',
  builder: (y) =>
    y
      .positional('kind', { type: 'string', demandOption: true, describe: 'message kind, e.g. model-card, device-profile, edge-config' })
      .positional('file', { type: 'string', demandOption: true, describe: 'the JSON file, or - for standard input' })
      // yargs reads a lone '-' after an option name as an empty option, not as the value: take one argument as it is
      .nargs('file', 1),
  run: async (args, io) => {
    const { decodeMessage, isMessageKind, MESSAGE_KINDS, AkbError } = await import('@akb/protocol');
    if (!isMessageKind(args.kind)) {
      throw new AkbError('UNKNOWN_KIND', `unknown message kind "${args.kind}"`, { hint: `known: ${MESSAGE_KINDS.join(', ')}` });
    }
    decodeMessage(args.kind, await readInput(args.file));
    io.out(`${args.file === '-' ? 'standard input' : args.file}: valid ${args.kind}`);
  },
});

export const messageCommand = defineGroup('message', 'JSON messages of the protocol', [validate]);
