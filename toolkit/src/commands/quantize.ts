import { writeFile } from 'node:fs/promises';
import { AkbError } from '@akb/protocol';
import { defineCommand } from './define.js';
import { emit } from '../run-command.js';

const METHODS = ['minmax', 'entropy', 'percentile', 'mse'] as const;

/** Exit code when --target-sqnr / --target-psnr-loss is not met (without --allow-miss); the model is written. */
export const EXIT_TARGET_NOT_MET = 3;

const EPILOG = `Exit codes: 0 done; 1 an error (one line on stderr, no output file); 2 bad arguments; ${EXIT_TARGET_NOT_MET} a --target-sqnr or --target-psnr-loss target was not met (the best model the search found is still written and the report printed; --allow-miss exits 0 instead, with the warning); 70 a bug.`;
const TYPES = ['int8', 'uint8'] as const;

export const quantizeCommand = defineCommand({
  command: 'quantize <model>',
  describe: 'Quantize an ONNX model (int8 QDQ, TensorRT int8, fp16 or weight-only) for a device profile, with a report',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'float ONNX model' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'quantized model to write (atomically)' })
      .option('profile', { type: 'string', default: 'int8', describe: 'device profile id (akb devices list) or preset: int8, int8-s8s8, trt, fp16, weight-only, int8-accurate, int8-s8s8-accurate, trt-accurate' })
      .option('calib', { type: 'string', describe: 'calibration data: image folder, .npy, or a folder of <input>.npy' })
      .option('calib-limit', { type: 'number', describe: 'at most this many calibration samples' })
      .option('method', { choices: METHODS, describe: 'activation range calibration (default: the preset\'s, minmax for all but the *-accurate presets, which use mse)' })
      .option('percentile', { type: 'number', describe: 'percentile for --method percentile (default 99.999)' })
      .option('cle', { type: 'boolean', describe: 'cross-layer equalization before calibration (int8, trt)' })
      .option('bias-absorption', { type: 'boolean', describe: 'with --cle: move positive per-channel constants through Relu into the next layer\'s bias' })
      .option('adaround', { type: 'boolean', describe: 'adaptive rounding: each weight rounded up or down to minimize its layer\'s output error on the calibration data' })
      .option('bias-correction', { type: 'boolean', describe: 'remove the expected output shift of weight rounding from each channel\'s bias' })
      .option('placement', { choices: ['onnxruntime', 'weighted-inputs'] as const, describe: "where Q/DQ pairs go: onnxruntime's (every op it has int8 kernels for; default, trt-accurate aside) or only the inputs of Conv/ConvTranspose/Gemm/MatMul (TensorRT's recommendation: what lies between two weighted ops is computed before one rounding; onnxruntime's CPU runs those ops in float)" })
      .option('per-channel', { type: 'boolean', default: true, describe: 'per-channel weight scales (--no-per-channel: per tensor)' })
      .option('activation-type', { choices: TYPES, describe: 'override the preset' })
      .option('weight-type', { choices: TYPES, describe: 'override the preset' })
      .option('reduce-range', { type: 'boolean', describe: '7-bit weights (x64 CPUs without VNNI)' })
      .option('exclude', { type: 'string', describe: 'node names or op types to keep in float, comma-separated' })
      .option('held-out', { type: 'string', describe: 'held-out data for the report (default: the last 20% of --calib)' })
      .option('target-psnr-loss', { type: 'number', describe: 'JSCC: keep the fewest nodes in float so PSNR through the channel drops at most this many dB' })
      .option('target-sqnr', { type: 'number', describe: 'keep the fewest nodes in float so the output SQNR reaches this many dB' })
      .option('allow-miss', { type: 'boolean', default: false, describe: `exit 0, not ${EXIT_TARGET_NOT_MET}, when a target is not met (a warning on stderr still says so)` })
      .option('kept-weights', { choices: ['int8', 'float'] as const, describe: 'weights of the nodes the accuracy-driven search keeps in float (default int8: weight-only)' })
      .option('semantics', { choices: ['kernels', 'reference'] as const, describe: "what the accuracy-driven search scores with: this CPU's onnxruntime kernels, or the QDQ reference semantics (ARM boards); default reference for a device profile" })
      .option('jscc', { type: 'boolean', describe: 'force (or with --no-jscc skip) PSNR through the channel; default: when card.json says encoder/decoder' })
      .option('jscc-images', { type: 'string', describe: 'images (or encoder-input .npy folder) for the JSCC PSNR' })
      .option('snr', { type: 'string', describe: 'SNR grid in dB for the JSCC PSNR, comma-separated (default: the card\'s)' })
      .option('latency-runs', { type: 'number', default: 20, describe: 'runs per latency median' })
      .option('report', { type: 'string', describe: 'also write the report as JSON to this file' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .epilog(EPILOG),
  run: async (args, io) => {
    const { quantizeModel, presetByName, presetForProfile, formatReport, reportToJson, targetMiss } = await import('@akb/quantize');
    let preset = presetByName(args.profile);
    if (preset === undefined) {
      const { getProfile } = await import('@akb/devices');
      preset = presetForProfile(await getProfile(args.profile));
    }
    const positive = (name: string, v: number | undefined): number | undefined => {
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new AkbError('BAD_OPTION', `--${name} must be a positive number, got ${String(v)}`);
      return v;
    };
    const snrGrid = args.snr?.split(',').map((s) => Number(s.trim()));
    if (snrGrid?.some((s) => !Number.isFinite(s))) throw new AkbError('BAD_OPTION', `--snr takes numbers in dB, comma-separated: ${args.snr}`);
    const progress = progressReporter();
    const report = await quantizeModel({
      input: args.model,
      output: args.output,
      preset,
      ...(args.calib !== undefined ? { calib: args.calib } : {}),
      ...(args.calibLimit !== undefined ? { calibLimit: positive('calib-limit', args.calibLimit) } : {}),
      ...(args.method !== undefined ? { method: args.method } : {}),
      ...(args.percentile !== undefined ? { percentile: args.percentile } : {}),
      // Each step given (--x or --no-x) overrides the preset's default; the rest keep it.
      ptq: {
        ...(args.cle !== undefined ? { cle: args.cle } : {}),
        ...(args.biasAbsorption !== undefined ? { biasAbsorption: args.biasAbsorption } : {}),
        ...(args.adaround !== undefined ? { adaround: args.adaround } : {}),
        ...(args.biasCorrection !== undefined ? { biasCorrection: args.biasCorrection } : {}),
      },
      ...(args.placement !== undefined ? { placement: args.placement } : {}),
      perChannel: args.perChannel,
      ...(args.activationType ? { activationType: args.activationType } : {}),
      ...(args.weightType ? { weightType: args.weightType } : {}),
      ...(args.reduceRange !== undefined ? { reduceRange: args.reduceRange } : {}),
      ...(args.exclude ? { exclude: args.exclude.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}),
      ...(args.heldOut !== undefined ? { heldOut: args.heldOut } : {}),
      ...(args.jscc !== undefined ? { jscc: args.jscc } : {}),
      ...(args.semantics ? { semantics: args.semantics } : {}),
      ...(args.keptWeights ? { keptWeights: args.keptWeights } : {}),
      ...(args.jsccImages !== undefined ? { jsccImages: args.jsccImages } : {}),
      ...(snrGrid ? { snrGrid } : {}),
      ...(args.targetPsnrLoss !== undefined || args.targetSqnr !== undefined
        ? { target: { ...(args.targetPsnrLoss !== undefined ? { psnrLossDb: args.targetPsnrLoss } : {}), ...(args.targetSqnr !== undefined ? { sqnrDb: args.targetSqnr } : {}) } }
        : {}),
      latencyRuns: positive('latency-runs', args.latencyRuns) ?? 20,
      onProgress: progress.update,
      onWarning: (w) => {
        progress.done();
        io.err(`akb: warning: ${w.message}`);
      },
    }).finally(progress.done);
    if (args.report !== undefined) await writeFile(args.report, `${reportToJson(report)}\n`);
    if (args.json) io.out(reportToJson(report));
    else emit(io, false, report, () => formatReport(report));
    const miss = targetMiss(report);
    if (miss === undefined) return;
    const written = `the model was written to ${report.output.path}`;
    if (args.allowMiss) io.err(`akb: warning: ${miss}; ${written} (--allow-miss: exit 0)`);
    else throw new AkbError('TARGET_NOT_MET', `${miss}; ${written}`, { hint: 'relax the target, or pass --allow-miss to accept it with exit 0', exitCode: EXIT_TARGET_NOT_MET });
  },
});

/**
 * Calibration and search progress on stderr: a redrawn bar when stderr is a terminal, otherwise one
 * plain line when a phase starts (logs stay readable).
 */
function progressReporter(): { update: (p: { phase: string; done: number; total?: number }) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let phase = '';
  let drawn = false;
  let last = 0;
  return {
    update: ({ phase: p, done, total }) => {
      if (!tty) {
        if (p !== phase) process.stderr.write(`akb quantize: ${p}${total !== undefined ? ` (${total} steps)` : ''}...\n`);
        phase = p;
        return;
      }
      const now = Date.now();
      if (p === phase && done !== total && now - last < 100) return; // at most ~10 redraws a second
      last = now;
      phase = p;
      const width = 30;
      const frac = total ? Math.min(1, done / total) : 0;
      const bar = total ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${done}/${total}` : `${done}`;
      process.stderr.write(`\r${p.padEnd(12)} ${bar}\x1b[K`);
      drawn = true;
    },
    done: () => {
      if (tty && drawn) process.stderr.write('\r\x1b[K');
    },
  };
}
