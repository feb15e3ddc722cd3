import { defineCommand, defineGroup } from './define.js';
import { readInput } from './read-input.js';

const validate = defineCommand({
  command: 'validate <kind> <file>',
  describe: 'Check a JSON message (a model card, a profile, a config...) against its schema; - reads stdin',
  builder: (y) =>
    y
      .positional('kind', { type: 'string', demandOption: true, describe: 'message kind, e.g. model-card, device-profile, edge-config' })
      .positional('file', { type: 'string', demandOption: true }),
  run: async (args, io) => {
    const { decodeMessage, isMessageKind, MESSAGE_KINDS, AkbError } = await import('@akb/protocol');
    if (!isMessageKind(args.kind)) {
      throw new AkbError('UNKNOWN_KIND', `unknown message kind "${args.kind}"`, { hint: `known: ${MESSAGE_KINDS.join(', ')}` });
    }
    decodeMessage(args.kind, await readInput(args.file));
    io.out(`${args.file}: valid ${args.kind}`);
  },
});

export const messageCommand = defineGroup('message', 'JSON messages of the protocol', [validate]);
