/**
 * akb's quantizer against onnxruntime's Python `quantize_static` (QDQ, per channel) on the reference
 * models and three torchvision CNNs, with the same calibration and held-out rows:
 * - output SQNR on the held-out rows (both measured here, in onnxruntime-node, against the float model),
 *   with this CPU's fused integer kernels and in the QDQ reference semantics (optimizations off): target
 *   akb − onnxruntime ≥ 0 dB for every model, activation type and calibration method;
 * - file size (target akb / onnxruntime ≤ 1);
 * - onnxruntime-node latency of one-row runs, float vs quantized (interleaved rounds, medians);
 * - JSCC models: PSNR loss through AWGN on the cards' SNR grid, 998 CIFAR-10 test images, with this
 *   CPU's kernels and in the QDQ reference semantics, int8 (target ≤ 0.1 dB; if missed in the reference
 *   semantics, the accuracy-driven mode with that target too) and fp16 (≤ 0.01 dB);
 * - the DQN policy in weight-only int8;
 * - MobileNetV3-small with 100 calibration samples: wall time (< 30 s) and peak RSS (< 2 GB), in a
 *   fresh process.
 *
 *   npx tsx bench/quantize.ts [--models a,b] [--methods minmax,entropy,percentile] [--types u8s8,s8s8]
 *                             [--reuse-ort] [--resume] [--no-psnr] [--no-timing] [--runs 20]
 *
 * Needs bench/quantize/.work (made by export_cnns.py and make_data.py, run here when Python is found).
 * Prints JSON; the Markdown table of the README goes to bench/quantize/.work/table.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as ort from 'onnxruntime-node';
import { quantizeModel, type QuantizeOptions } from '../toolkit/quantize/src/quantize.js';
import { outputSqnr } from '../toolkit/quantize/src/report/output-sqnr.js';
import { inputRowDims, readNpyFolder } from '../toolkit/quantize/src/report/npy-folder.js';
import { batchOf, type RowTable } from '../toolkit/quantize/src/report/rows.js';
import { createSession, medianLatencyMs, median } from '../toolkit/quantize/src/report/session.js';
import type { QuantizeReport } from '../toolkit/quantize/src/report/types.js';
import { markdownTables } from './quantize/tables.js';
import { CNNS, dataDir, ensureData, findPython, HERE, JSCC_MODELS, MODELS, modelPath, ortReference, psnrDir, ROOT, WORK } from './quantize/setup.js';

export interface QuantizeBenchOptions {
  models?: string[];
  methods?: string[];
  types?: string[];
  reuseOrt?: boolean;
  /** Skip the models already in .work/bench-partial.json. */
  resume?: boolean;
  psnr?: boolean;
  timing?: boolean;
  runs?: number;
}

/** sqnrDb: with onnxruntime's CPU kernels on this machine; referenceSqnrDb: optimizations off (QDQ reference semantics). */
type Side = { bytes: number; sqnrDb: number; referenceSqnrDb: number; ms: number };
export interface VariantResult {
  akb: Side & { seconds: number };
  ort: Side | { missing: string };
  /** akb − onnxruntime output SQNR, dB (target ≥ 0), with this CPU's kernels and in the reference semantics. */
  sqnrDeltaDb?: number;
  referenceSqnrDeltaDb?: number;
  /** akb bytes / onnxruntime bytes (target ≤ 1). */
  sizeRatio?: number;
  /** quantized ms / float ms in onnxruntime-node. */
  akbLatencyRatio: number;
  ortLatencyRatio?: number;
}

const PRESET_OF: Record<string, string> = { u8s8: 'int8', s8s8: 'int8-s8s8' };

export async function runQuantizeBench(opts: QuantizeBenchOptions = {}): Promise<object> {
  const models = opts.models ?? MODELS;
  const methods = opts.methods ?? ['minmax', 'entropy', 'percentile'];
  const types = opts.types ?? ['u8s8', 's8s8'];
  const runs = opts.runs ?? 20;
  const python = findPython();
  ensureData(python);
  const out = join(WORK, 'akb');
  mkdirSync(out, { recursive: true });
  process.stderr.write(`quantize bench: onnxruntime reference (${python ?? 'no Python'})...\n`);
  const reference = ortReference(python, models, methods, types, opts.reuseOrt === true);

  // Finished parts are saved as they come; --resume skips them (a full run takes the better part of an hour).
  const partialPath = join(WORK, 'bench-partial.json');
  const partial: Partial<Record<'comparison' | 'jscc', Record<string, never>>> = opts.resume && existsSync(partialPath) ? (JSON.parse(readFileSync(partialPath, 'utf8')) as object) : {};
  const save = (): void => writeFileSync(partialPath, JSON.stringify({ comparison, jscc: jsccDone }, null, 1));
  const comparison: Record<string, { floatBytes: number; floatMs: number; variants: Record<string, VariantResult> }> = { ...partial.comparison };
  const jsccDone: Record<string, object> = { ...partial.jscc };
  for (const name of models) {
    if (comparison[name]) continue;
    const input = modelPath(name);
    const floatSession = await createSession(await readFile(input), input);
    const held = await readNpyFolder(dataDir(name, 'heldout'), inputRowDims(floatSession));
    const variants: Record<string, VariantResult> = {};
    let floatMs = NaN;
    for (const type of types) {
      for (const method of methods) {
        const key = `${type}.${method}`;
        process.stderr.write(`quantize bench: ${name} ${key}\n`);
        const t0 = performance.now();
        const report = await quantizeModel(benchOptions(name, join(out, `${name}.${key}.onnx`), { preset: PRESET_OF[type]!, method: method as 'minmax' }));
        const seconds = (performance.now() - t0) / 1000;
        const akbSession = await createSession(await readFile(report.output.path), report.output.path);
        const ortEntry = 'missing' in reference ? undefined : reference.models[name]?.variants[key];
        const ortPath = ortEntry?.path;
        const ortSession = ortPath && existsSync(ortPath) ? await createSession(await readFile(ortPath), ortPath) : undefined;
        const ms = await interleavedLatency([floatSession, akbSession, ...(ortSession ? [ortSession] : [])], held, runs);
        floatMs = ms[0]!;
        const akb = { bytes: report.output.bytes, sqnrDb: report.outputSqnrDb, referenceSqnrDb: report.referenceSqnrDb, ms: ms[1]!, seconds };
        let ortSide: VariantResult['ort'] = { missing: 'missing' in reference ? reference.missing : (ortEntry?.error ?? 'no onnxruntime model') };
        if (ortSession && ortPath) {
          const ortBytes = await readFile(ortPath);
          const ortRef = await createSession(ortBytes, ortPath, { optimization: 'disabled' });
          ortSide = {
            bytes: ortBytes.length,
            sqnrDb: (await outputSqnr(floatSession, ortSession, held)).overall,
            referenceSqnrDb: (await outputSqnr(floatSession, ortRef, held)).overall,
            ms: ms[2]!,
          };
          await ortRef.release();
        }
        variants[key] = {
          akb,
          ort: ortSide,
          ...('bytes' in ortSide
            ? { sqnrDeltaDb: akb.sqnrDb - ortSide.sqnrDb, referenceSqnrDeltaDb: akb.referenceSqnrDb - ortSide.referenceSqnrDb, sizeRatio: akb.bytes / ortSide.bytes, ortLatencyRatio: ortSide.ms / floatMs }
            : {}),
          akbLatencyRatio: akb.ms / floatMs,
        };
        await Promise.all([akbSession.release(), ortSession?.release()]);
      }
    }
    await floatSession.release();
    comparison[name] = { floatBytes: statSync(input).size, floatMs, variants };
    save();
  }

  const jscc = opts.psnr === false ? undefined : await jsccPsnr(models.filter((m) => JSCC_MODELS.includes(m)), out, jsccDone, save);
  const weightOnly = models.includes('akb-dqn-policy') ? summarize(await quantizeModel(benchOptions('akb-dqn-policy', join(out, 'akb-dqn-policy.weight-only.onnx'), { preset: 'weight-only' }))) : undefined;
  const timing = opts.timing === false || !models.includes('mobilenet_v3_small') ? undefined : mobilenetTiming(out);
  const result = {
    bench: 'quantize',
    onnxruntimePython: 'missing' in reference ? reference : { version: reference.onnxruntime },
    comparison,
    summary: summary(comparison),
    ...(jscc ? { jscc } : {}),
    ...(weightOnly ? { weightOnly: { 'akb-dqn-policy': weightOnly } } : {}),
    ...(timing ? { mobilenetTiming: timing } : {}),
  };
  writeFileSync(join(WORK, 'table.md'), markdownTables(result));
  return result;
}

function benchOptions(name: string, output: string, extra: Partial<QuantizeOptions>): QuantizeOptions {
  return { input: modelPath(name), output, calib: dataDir(name, 'calib'), heldOut: dataDir(name, 'heldout'), jscc: false, latencyRuns: 1, tensorRows: 2, ...extra };
}

/** Medians (ms) of one-row runs per session, sessions interleaved over 3 rounds so load spikes hit all alike. */
async function interleavedLatency(sessions: ort.InferenceSession[], rows: RowTable, runs: number): Promise<number[]> {
  const one = batchOf(rows, 0, 1);
  const samples: number[][] = sessions.map(() => []);
  for (let round = 0; round < 3; round++) {
    for (const [i, s] of sessions.entries()) samples[i]!.push(await medianLatencyMs(s, one, Math.ceil(runs / 3)));
  }
  return samples.map(median);
}

async function jsccPsnr(models: string[], out: string, results: Record<string, object>, save: () => void): Promise<Record<string, object>> {
  for (const name of models) {
    if (results[name]) continue;
    process.stderr.write(`quantize bench: ${name} PSNR through the channel\n`);
    try {
      results[name] = await jsccModel(name, out);
    } catch (e) {
      results[name] = { error: e instanceof Error ? e.message : String(e) };
    }
    save();
  }
  return results;
}

async function jsccModel(name: string, out: string): Promise<object> {
  const common = { jscc: true, jsccImages: psnrDir(name), latencyRuns: 1, tensorRows: 2 };
  const int8 = await quantizeModel(benchOptions(name, join(out, `${name}.psnr.int8.onnx`), { ...common, preset: 'int8', method: 'minmax' }));
  const fp16 = await quantizeModel(benchOptions(name, join(out, `${name}.psnr.fp16.onnx`), { ...common, preset: 'fp16' }));
  const entry: Record<string, object> = { int8: jsccOf(int8), fp16: jsccOf(fp16) };
  // The accuracy-driven mode, scored in the QDQ reference semantics (the boards' arithmetic), when plain
  // int8 misses the target there.
  const loss = int8.jsccReference?.maxLossDb ?? NaN;
  if (!(loss <= 0.1)) {
    const driven = await quantizeModel(benchOptions(name, join(out, `${name}.psnr.int8-target.onnx`), { ...common, preset: 'int8', method: 'minmax', semantics: 'reference', target: { psnrLossDb: 0.1 } }));
    entry.int8AccuracyDriven = { ...jsccOf(driven), keptInFloat: driven.sensitivity?.keptInFloat, searchSeconds: driven.sensitivity?.seconds, bytes: driven.output.bytes };
  }
  return entry;
}

function jsccOf(r: QuantizeReport): object {
  if (!r.jscc || 'skipped' in r.jscc) return { skipped: r.jscc && 'skipped' in r.jscc ? r.jscc.skipped : 'not a JSCC model' };
  return {
    bytes: r.output.bytes,
    maxLossDb: r.jscc.maxLossDb,
    referenceMaxLossDb: r.jsccReference?.maxLossDb,
    images: r.jscc.images,
    points: r.jscc.points.map((p, i) => ({ ...p, referenceLossDb: r.jsccReference?.points[i]?.lossDb })),
  };
}

function summarize(r: QuantizeReport): object {
  return { bytes: r.output.bytes, floatBytes: r.input.bytes, sizeRatio: r.sizeRatio, sqnrDb: r.outputSqnrDb, quantizedNodes: r.quantizedNodes };
}

function summary(comparison: Record<string, { variants: Record<string, VariantResult> }>): object {
  const rows = Object.values(comparison).flatMap((c) => Object.values(c.variants));
  const compared = rows.filter((v) => v.sqnrDeltaDb !== undefined);
  return {
    variants: rows.length,
    compared: compared.length,
    sqnrAtLeastOrt: compared.filter((v) => v.sqnrDeltaDb! >= 0).length,
    referenceSqnrAtLeastOrt: compared.filter((v) => v.referenceSqnrDeltaDb! >= 0).length,
    worstReferenceSqnrDeltaDb: Math.min(...compared.map((v) => v.referenceSqnrDeltaDb!)),
    sizeAtMostOrt: compared.filter((v) => v.sizeRatio! <= 1).length,
    worstSqnrDeltaDb: Math.min(...compared.map((v) => v.sqnrDeltaDb!)),
    largestSizeRatio: Math.max(...compared.map((v) => v.sizeRatio!)),
  };
}

/** MobileNetV3-small, 100 calibration samples, in a fresh process: seconds and peak RSS. */
function mobilenetTiming(out: string): object {
  process.stderr.write('quantize bench: MobileNetV3-small timing (fresh process)\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, 'timing.ts'), modelPath('mobilenet_v3_small'), dataDir('mobilenet_v3_small', 'calib'), join(out, 'mobilenet_v3_small.timing.onnx')], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) return { error: `timing.ts exited ${String(r.status)}` };
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as object;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' }, methods: { type: 'string' }, types: { type: 'string' }, runs: { type: 'string' },
      'reuse-ort': { type: 'boolean' }, resume: { type: 'boolean' }, 'no-psnr': { type: 'boolean' }, 'no-timing': { type: 'boolean' },
    },
  });
  const list = (s: string | undefined): string[] | undefined => s?.split(',').map((x) => x.trim());
  const unknown = (list(values.models) ?? []).filter((m) => !MODELS.includes(m));
  if (unknown.length > 0) {
    process.stderr.write(`quantize bench: unknown model(s) ${unknown.join(', ')}; known: ${MODELS.join(', ')} (CNNs: ${CNNS.join(', ')})\n`);
    process.exit(2);
  }
  const result = await runQuantizeBench({
    ...(values.models ? { models: list(values.models)! } : {}),
    ...(values.methods ? { methods: list(values.methods)! } : {}),
    ...(values.types ? { types: list(values.types)! } : {}),
    ...(values.runs ? { runs: Number(values.runs) } : {}),
    reuseOrt: values['reuse-ort'] === true,
    resume: values.resume === true,
    psnr: values['no-psnr'] !== true,
    timing: values['no-timing'] !== true,
  });
  console.log(JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
}
