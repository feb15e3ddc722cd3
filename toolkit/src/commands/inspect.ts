import { defineCommand } from './define.js';
import { emit } from '../run-command.js';

export const inspectCommand = defineCommand({
  command: 'inspect <model>',
  describe: 'Show what an ONNX model is made of: inputs and outputs, opsets, ops, parameters, MACs, and which ops the quantizer handles',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'the .onnx file (external data is read from its folder)' })
      .option('probe', { type: 'boolean', default: true, describe: 'run the model once on zeros for shapes the model does not state (--no-probe to skip)' })
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { readModel, inspectModel, renderInspectReport } = await import('@akb/quantize');
    const report = await inspectModel(await readModel(args.model), { probe: args.probe });
    emit(io, args.json, report, () => renderInspectReport(report, args.model));
  },
});
