/**
 * Wall time and peak memory of quantizing one model, in a fresh process so the RSS is this job's alone.
 * Prints one JSON line. Run by bench/quantize.ts (MobileNetV3-small, 100 calibration samples):
 *
 *   npx tsx bench/quantize/timing.ts <model.onnx> <calib folder of .npy> <out.onnx> [method]
 *
 * `quantizeSeconds` covers what `akb quantize` must do to produce the file: read the model, load the
 * calibration rows, calibrate, rewrite and write atomically. `reportSeconds` is the full `quantizeModel`
 * call with its report (held-out SQNR, per-tensor SQNR, latency), run afterwards in the same process.
 */
import { readFile } from 'node:fs/promises';
import { calibrate, type CalibrationMethod } from '../../toolkit/quantize/src/calibrate/index.js';
import { encodeModel, readModel, writeModelAtomic } from '../../toolkit/quantize/src/onnx/io.js';
import { quantizeQdq, tensorsToCalibrate, type QdqOptions } from '../../toolkit/quantize/src/qdq/index.js';
import { quantizeModel } from '../../toolkit/quantize/src/quantize.js';
import { inputRowDims, readNpyFolder } from '../../toolkit/quantize/src/report/npy-folder.js';
import { rowSamples } from '../../toolkit/quantize/src/report/rows.js';
import { createSession } from '../../toolkit/quantize/src/report/session.js';

const [modelPath, calibDir, outPath, methodArg] = process.argv.slice(2);
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
const ranges = await calibrate(model, rowSamples(rows), tensorsToCalibrate(model, opts), { method });
const tCalib = performance.now();
const result = quantizeQdq(model, ranges, opts);
await writeModelAtomic(outPath, result.model);
const tEnd = performance.now();
const rssAfterQuantize = process.resourceUsage().maxRSS / 1024;

const full = await quantizeModel({ input: modelPath, output: `${outPath}.report.onnx`, preset: 'int8', calib: calibDir, method, latencyRuns: 5 });
const tReport = performance.now();

process.stdout.write(
  `${JSON.stringify({
    model: modelPath,
    samples: rows.count,
    method,
    quantizeSeconds: (tEnd - t0) / 1000,
    loadSeconds: (tLoad - t0) / 1000,
    calibrateSeconds: (tCalib - tLoad) / 1000,
    rewriteAndWriteSeconds: (tEnd - tCalib) / 1000,
    peakRssMbQuantize: rssAfterQuantize,
    reportSeconds: (tReport - tEnd) / 1000,
    peakRssMbWithReport: process.resourceUsage().maxRSS / 1024,
    outputBytes: (await readFile(outPath)).length,
    reportCalibrationSamples: full.calibration?.samples,
  })}\n`,
);
