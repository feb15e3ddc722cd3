import { defineCommand, defineGroup } from './define.js';
import { readInput } from './read-input.js';
import { emit } from '../run-command.js';

const decode = defineCommand({
  command: 'decode <file>',
  describe: 'Decode one binary symbol frame (a captured MQTT payload; - reads stdin) and print its header',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      // yargs reads a lone '-' after an option name as an empty option, not as the value: take one argument as it is
      .nargs('file', 1)
      .option('values', { type: 'boolean', default: false, describe: 'also print the symbol values' })
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { decodeFrame, unpackSymbols } = await import('@akb/protocol');
    const { header, payload } = decodeFrame(await readInput(args.file));
    const values = args.values ? Array.from(unpackSymbols(payload, header.dtype, header.scale)) : undefined;
    const out = { header, payloadBytes: payload.length, ...(values ? { values } : {}) };
    emit(io, args.json, out, () => [
      ...Object.entries(header).map(([k, v]) => `${k.padEnd(16)} ${String(v)}`),
      `${'payloadBytes'.padEnd(16)} ${payload.length}`,
      ...(values ? [`values           ${values.map((v) => v.toPrecision(5)).join(' ')}`] : []),
    ]);
  },
});

export const frameCommand = defineGroup('frame', 'Binary symbol frames', [decode]);
