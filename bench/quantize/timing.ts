/**
 * Wall time and peak memory of quantizing one model, in a fresh process so the RSS is this job's alone.
 * Prints one JSON line. Run by bench/quantize.ts (MobileNetV3-small, 100 calibration samples):
 *
 *   npx tsx bench/quantize/timing.ts <model.onnx> <calib folder of .npy> <out.onnx> [method] [--ptq]
 *
 * `--ptq` turns every post-training method on (cross-layer equalization, adaptive rounding, bias
 * correction; issue 16) in both the bare quantization and the report.
 *
 * `quantizeSeconds` covers what `akb quantize` must do to produce the file: read the model, load the
 * calibration rows, calibrate, rewrite and write atomically. `reportSeconds` is the full `quantizeModel`
 * call with its report (held-out SQNR, per-tensor SQNR, latency), run afterwards in the same process.
 */
import { readFile } from 'node:fs/promises';
import { calibrate, type CalibrationMethod } from '../../toolkit/quantize/src/calibrate/index.js';
import { encodeModel, readModel, writeModelAtomic } from '../../toolkit/quantize/src/onnx/io.js';
import { quantizeQdq, tensorsToCalibrate, type QdqOptions } from '../../toolkit/quantize/src/qdq/index.js';
import { applyPtq } from '../../toolkit/quantize/src/ptq/pipeline.js';
import { quantizeModel } from '../../toolkit/quantize/src/quantize.js';
import { inputRowDims, readNpyFolder } from '../../toolkit/quantize/src/report/npy-folder.js';
import { rowSamples } from '../../toolkit/quantize/src/report/rows.js';
import { createSession } from '../../toolkit/quantize/src/report/session.js';

const withPtq = process.argv.includes('--ptq');
const [modelPath, calibDir, outPath, methodArg] = process.argv.slice(2).filter((a) => a !== '--ptq');
if (!modelPath || !calibDir || !outPath) {
  process.stderr.write('usage: timing.ts <model.onnx> <calib dir> <out.onnx> [method]\n');
  process.exit(2);
}
const method = (methodArg ?? 'minmax') as CalibrationMethod;
const opts: QdqOptions = { activationType: 'uint8', weightType: 'int8', perChannel: true };

const t0 = performance.now();
const model = await readModel(modelPath);
const session = await createSession(encodeModel(model), modelPath);
const rows = await readNpyFolder(calibDir, inputRowDims(session));
await session.release();
const tLoad = performance.now();
const steps = { cle: true, adaround: true, biasCorrection: true };
const prepared = withPtq ? (await applyPtq(model, rowSamples(rows), opts, steps)).model : model;
const tPtq = performance.now();
const ranges = await calibrate(prepared, rowSamples(rows), tensorsToCalibrate(prepared, opts), { method });
const tCalib = performance.now();
const result = quantizeQdq(prepared, ranges, opts);
await writeModelAtomic(outPath, result.model);
const tEnd = performance.now();
const rssAfterQuantize = process.resourceUsage().maxRSS / 1024;

const full = await quantizeModel({ input: modelPath, output: `${outPath}.report.onnx`, preset: 'int8', calib: calibDir, method, latencyRuns: 5, ...(withPtq ? { ptq: steps } : {}) });
const tReport = performance.now();

process.stdout.write(
  `${JSON.stringify({
    model: modelPath,
    samples: rows.count,
    method,
    quantizeSeconds: (tEnd - t0) / 1000,
    ptq: withPtq,
    loadSeconds: (tLoad - t0) / 1000,
    ptqSeconds: (tPtq - tLoad) / 1000,
    calibrateSeconds: (tCalib - tPtq) / 1000,
    rewriteAndWriteSeconds: (tEnd - tCalib) / 1000,
    peakRssMbQuantize: rssAfterQuantize,
    reportSeconds: (tReport - tEnd) / 1000,
    peakRssMbWithReport: process.resourceUsage().maxRSS / 1024,
    outputBytes: (await readFile(outPath)).length,
    reportCalibrationSamples: full.calibration?.samples,
  })}\n`,
);
