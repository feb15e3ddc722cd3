/**
 * `quantizeModel`: one call from a float ONNX file to a quantized one and its report.
 *
 * read → check it runs → load calibration and held-out rows → calibrate (int8/trt) → rewrite (QDQ,
 * fp16 or weight-only) → optionally keep the most sensitive nodes in float until a target holds →
 * measure (output SQNR on held-out rows, per-tensor SQNR, onnxruntime-node latency, JSCC PSNR through
 * the channel) → write atomically. Suspicious weights (NaN, infinities, absurd outliers) and absurd
 * calibrated ranges are reported as warnings as they are found (report/warnings.ts). Any failure is a one-line AkbError and leaves no output file: the
 * file is written last, and only after the quantized model has loaded and run in onnxruntime-node.
 */
import { readFile, stat } from 'node:fs/promises';
import { AkbError } from '@akb/protocol';
import { calibrate, type CalibrationMethod, type TensorRange } from './calibrate/index.js';
import { convertFp16 } from './fp16/index.js';
import { fp16OutOfRange } from './fp16-guard.js';
import { findJscc, type JsccModelInfo } from './jscc/card.js';
import { JsccEvaluator, type JsccEvaluation } from './jscc/evaluate.js';
import { encodeModel, readModel, writeModelAtomic } from './onnx/io.js';
import { opsetVersion, topoSort } from './onnx/graph.js';
import { DataType, type Model } from './onnx/types.js';
import { inferElemTypes } from './qdq/elem-types.js';
import type { QuantType } from './numerics/qparams.js';
import type { Preset, QuantizeMode } from './presets.js';
import { quantizeQdq, resolveQdqOptions, tensorsToCalibrate, type QdqOptions, type QdqResult } from './qdq/index.js';
import type { QdqPlacement } from './qdq/placement.js';
import { checkOutput, resolvePlacement, resolvePreset, splitExclude } from './quantize-options.js';
import { anyPtq, applyPtq, type PtqReport, type PtqSteps } from './ptq/pipeline.js';
import { loadData, type LoadedData } from './quantize-data.js';
import { batchOf, rowSamples, splitRows, type RowTable } from './report/rows.js';
import { createSession, medianLatencyMs, runAll, type Feeds } from './report/session.js';
import { writeQuantizedCard } from './report/card-out.js';
import { outputSqnr } from './report/output-sqnr.js';
import { tensorSqnr } from './report/tensors.js';
import type { QuantizeReport } from './report/types.js';
import { absurdRanges, kernelGap, suspiciousWeights, type ModelWarning } from './report/warnings.js';
import { searchSensitivity, type SensitivityResult } from './sensitivity/search.js';
import { verifyOnAll } from './sensitivity/verify.js';
import { quantizeWeightsOnly } from './weight-only/index.js';

export type { QuantizeMode } from './presets.js';

/**
 * Fewest calibration rows for MSE ranges taken from a preset's default: clipping fitted to few rows cuts
 * what other inputs reach (Deep JSCC encoder, 16 rows: -1.3 dB against MinMax; 100 rows: +0.9 dB).
 */
const MSE_MIN_ROWS = 64;

/** The share of the allowed PSNR loss the search aims for on its subset of images and SNRs. */
const SEARCH_MARGIN = 0.85;

/** Progress of the slow phases (calibration, sensitivity search, evaluation). */
export interface QuantizeProgress {
  phase: 'ptq' | 'calibrate' | 'sensitivity' | 'evaluate';
  done: number;
  total?: number;
}

export interface QuantizeOptions {
  input: string;
  output: string;
  /** A preset name (int8, int8-s8s8, trt, fp16, weight-only) or a resolved preset (e.g. from a device profile). Default int8. */
  preset?: string | Preset;
  /** Overrides the preset's mode. */
  mode?: QuantizeMode;
  /** Write the model card beside the output (report/card-out.ts); default true. */
  card?: boolean;
  /** Calibration data (int8/trt need it; other modes use it as held-out data when none is given). */
  calib?: string | readonly Feeds[];
  /** At most this many calibration rows. */
  calibLimit?: number;
  method?: CalibrationMethod;
  percentile?: number;
  /**
   * Post-training methods run on the float model before calibration (ptq/pipeline.ts): cross-layer
   * equalization (with bias absorption), adaptive rounding of weights, bias correction. int8 and trt only.
   * Each given step overrides the preset's (`*-accurate` presets turn them all on).
   */
  ptq?: PtqSteps;
  /** Where Q/DQ pairs go (qdq/placement.ts); overrides the preset's (default 'onnxruntime'). */
  placement?: QdqPlacement;
  perChannel?: boolean;
  activationType?: QuantType;
  weightType?: QuantType;
  reduceRange?: boolean;
  /** Node names or op types to keep in float. */
  exclude?: string[];
  /** Held-out data; without it the last 20% of the calibration rows are held out (and not calibrated on). */
  heldOut?: string | readonly Feeds[];
  /** JSCC PSNR through the channel: true forces it (error if the model is not JSCC), false skips it; default: when the card says encoder/decoder. */
  jscc?: boolean;
  /** The JSCC partner model (default: the sibling -enc/-dec folder). */
  jsccPartner?: string;
  /** Encoder-side images for the PSNR (default: the held-out rows when they are encoder-side). */
  jsccImages?: string | readonly Feeds[];
  snrGrid?: number[];
  jsccSeed?: number;
  /** Weights of the nodes the search keeps in float: 'int8' (weight-only, the default) or 'float'. */
  keptWeights?: 'int8' | 'float';
  /** Accuracy-driven mode: keep the fewest nodes in float that meet this PSNR loss (JSCC) or output SQNR. */
  target?: { psnrLossDb?: number; sqnrDb?: number; strategy?: 'leave-one-out' | 'only-one' };
  /**
   * What the accuracy-driven search scores with: 'kernels', onnxruntime's fused integer kernels on this
   * CPU, or 'reference', the QDQ semantics with optimizations off, which ARM boards with the dot product
   * reproduce (x64 CPUs without VNNI saturate U8S8 sums and lose more). Default: 'reference' for a device
   * profile's preset, 'kernels' otherwise. The report gives both.
   */
  semantics?: 'kernels' | 'reference';
  latencyRuns?: number;
  /** Held-out rows used for the per-tensor SQNR (default 8). */
  tensorRows?: number;
  onProgress?: (p: QuantizeProgress) => void;
  /** Called with each warning as it is found (they are also in the report's `warnings`). */
  onWarning?: (w: ModelWarning) => void;
}

export { resolvePreset, splitExclude } from './quantize-options.js';

/** The model produced and its report. The output file is written before this resolves. */
export async function quantizeModel(opts: QuantizeOptions): Promise<QuantizeReport> {
  const started = performance.now();
  const preset = resolvePreset(opts);
  const placement = resolvePlacement(opts, preset);
  await checkOutput(opts.input, opts.output);
  const model = await readModel(opts.input);
  const warnings: ModelWarning[] = [];
  const warn = (ws: readonly ModelWarning[]): void => {
    for (const w of ws) {
      warnings.push(w);
      opts.onWarning?.(w);
    }
  };
  warn(suspiciousWeights(model));
  const floatBytes = encodeModel(model);
  const floatSession = await createSession(floatBytes, opts.input);
  const jscc = opts.jscc === false ? undefined : await findJscc(opts.input, { required: opts.jscc === true, ...(opts.jsccPartner ? { partner: opts.jsccPartner } : {}) });
  const ctx = { model, session: floatSession, ...(jscc ? { jscc } : {}) };

  const needsCalib = preset.mode === 'int8' || preset.mode === 'trt';
  const semantics = opts.semantics ?? (preset.device !== undefined ? 'reference' : 'kernels');
  const optimization = semantics === 'reference' ? 'disabled' : 'all';
  const target = opts.target?.psnrLossDb !== undefined || opts.target?.sqnrDb !== undefined;
  const calibSource = opts.calib ?? opts.heldOut;
  if (calibSource === undefined) throw new AkbError('NO_CALIBRATION_DATA', `${preset.mode} needs ${needsCalib ? 'calibration' : 'held-out'} data`, { hint: 'pass --calib <image folder | .npy | folder of .npy per input>' });
  const calibData = await loadData(calibSource, { ...ctx, ...(opts.calibLimit ? { limit: opts.calibLimit } : {}) });
  let calibRows = calibData.rows;
  let held: LoadedData;
  if (opts.heldOut !== undefined && opts.calib !== undefined) {
    held = await loadData(opts.heldOut, ctx);
  } else if (calibRows.count >= 2) {
    const cut = calibRows.count - Math.max(1, Math.round(calibRows.count / 5));
    const [c, h] = splitRows(calibRows, cut);
    calibRows = c;
    const encoderHeld = calibData.encoderRows ? splitRows(calibData.encoderRows, cut)[1] : undefined;
    held = { rows: h, source: `last ${h.count} rows of ${calibData.source} (not calibrated on)`, ...(encoderHeld ? { encoderRows: encoderHeld } : {}) };
  } else {
    held = { ...calibData, source: `${calibData.source} (one sample: held-out = calibration)` };
  }

  const qdqOpts: QdqOptions = {
    activationType: opts.activationType ?? preset.activationType,
    weightType: opts.weightType ?? preset.weightType,
    perChannel: opts.perChannel ?? preset.perChannel,
    symmetricActivations: preset.symmetricActivations,
    reduceRange: opts.reduceRange ?? preset.reduceRange,
    tensorRt: preset.mode === 'trt',
    placement,
    ...splitExclude(model, opts.exclude ?? []),
  };
  let method = opts.method ?? preset.method ?? 'minmax';
  if (opts.method === undefined && method === 'mse' && needsCalib && calibRows.count < MSE_MIN_ROWS) {
    method = 'minmax';
    warn([{ kind: 'calibration', tensor: '', message: `the ${preset.name} preset's MSE ranges need at least ${MSE_MIN_ROWS} calibration rows, got ${calibRows.count}: MinMax ranges used (--method mse forces it)` }]);
  }
  // The methods rewrite the float model (node names kept): it is what gets calibrated and quantized, and
  // the reference of the per-tensor SQNR; the output SQNR still compares with the original float model.
  let qModel = model;
  let ptqReport: PtqReport | undefined;
  const steps: PtqSteps = { ...preset.ptq, ...opts.ptq };
  if (anyPtq(steps)) {
    if (!needsCalib) throw new AkbError('BAD_OPTION', `cross-layer equalization, adaptive rounding and bias correction work with int8 and trt, not ${preset.mode}`);
    const r = await applyPtq(model, rowSamples(calibRows), qdqOpts, steps, (p) => opts.onProgress?.({ phase: 'ptq', done: p.done, total: p.total }));
    qModel = r.model;
    ptqReport = r.report;
  }
  let calibration: QuantizeReport['calibration'];
  let ranges: Map<string, TensorRange> | undefined;
  if (needsCalib) {
    const t0 = performance.now();
    // Keeping nodes in float changes which tensors need their own range (a shape op no longer borrows its
    // input's), so the accuracy-driven search calibrates every float activation once.
    const planned = tensorsToCalibrate(qModel, qdqOpts);
    const tensors = target ? [...new Set([...planned, ...floatActivations(qModel)])] : planned;
    ranges = await calibrate(qModel, rowSamples(calibRows), tensors, {
      method,
      // Only forced for symmetric presets: otherwise each method keeps onnxruntime's default (Percentile: |x|).
      ...(qdqOpts.symmetricActivations === true || qdqOpts.tensorRt === true ? { symmetric: true } : {}),
      ...(opts.percentile !== undefined ? { percentile: opts.percentile } : {}),
      onProgress: (done, total) => opts.onProgress?.({ phase: 'calibrate', done, ...(total !== undefined ? { total } : {}) }),
    });
    calibration = { method, samples: calibRows.count, source: calibData.source, seconds: (performance.now() - t0) / 1000 };
    warn(absurdRanges(ranges));
  }
  // fp16: nodes whose values do not fit float16 on the calibration rows stay float32 (fp16-guard.ts).
  const fp16Guarded = preset.mode === 'fp16' ? await fp16OutOfRange(model, calibRows, floatActivations(model)) : [];
  const build = (keepFloat: readonly string[]): QdqResult => {
    const o = { ...qdqOpts, excludeNodes: [...(qdqOpts.excludeNodes ?? []), ...keepFloat] };
    if (preset.mode === 'weight-only') return quantizeWeightsOnly(model, { perChannel: o.perChannel, excludeNodes: o.excludeNodes, excludeOpTypes: o.excludeOpTypes ?? [] });
    if (preset.mode === 'fp16') {
      const blockNodes = [...o.excludeNodes, ...fp16Guarded.map((g) => g.node)];
      const r = convertFp16(model, { keepIoTypes: true, blockNodes, ...(o.excludeOpTypes?.length ? { blockOps: o.excludeOpTypes } : {}) });
      const byName = new Map(model.graph.node.map((n) => [n.name, n.opType]));
      const guard = new Map(fp16Guarded.map((g) => [g.node, g]));
      const blocked = new Set(r.blocked);
      const reason = (n: string): string => {
        const g = guard.get(n);
        return g ? `kept in float32: '${g.tensor}' reaches |x| = ${g.absMax.toPrecision(3)} on the calibration data, outside float16's safe range` : 'kept in float32 (fp16 block list or excluded)';
      };
      return { model: r.model, quantizedNodes: model.graph.node.filter((n) => !blocked.has(n.name)).map((n) => n.name), skipped: r.blocked.map((n) => ({ node: n, opType: byName.get(n) ?? '?', reason: reason(n) })) };
    }
    const r = quantizeQdq(qModel, ranges!, o);
    if (keepFloat.length === 0 || opts.keptWeights === 'float') return r;
    // Nodes kept in float by the search still store int8 weights (weight-only): their activations carry
    // the error that mattered, and a decoder whose ConvTransposes stay float would otherwise not shrink.
    const keep = new Set(keepFloat);
    const others = r.model.graph.node.map((n) => n.name).filter((n) => !keep.has(n));
    return { ...r, model: quantizeWeightsOnly(r.model, { perChannel: o.perChannel, excludeNodes: others }).model };
  };

  const psnrRows = await jsccImages(opts, held, jscc, ctx);
  const evaluator = jscc && psnrRows ? await JsccEvaluator.create(jscc, psnrRows, { ...(opts.snrGrid ? { grid: opts.snrGrid } : {}), ...(opts.jsccSeed !== undefined ? { seed: opts.jsccSeed } : {}) }) : undefined;
  let result = build([]);
  let sensitivity: SensitivityResult | undefined;
  if (target) {
    if (preset.mode === 'fp16') throw new AkbError('BAD_OPTION', 'the accuracy-driven mode works with int8, trt and weight-only');
    // The search scores many candidates: on at most 64 held-out images and the 4 SNRs where the fully
    // quantized model loses most; the report then measures the result on every image and SNR.
    let searchEvaluator = evaluator;
    if (evaluator && opts.target?.psnrLossDb !== undefined) {
      const base = held.encoderRows && opts.jsccImages !== undefined
        ? await JsccEvaluator.create(evaluator.info, held.encoderRows, { grid: evaluator.grid, seed: evaluator.seed })
        : evaluator;
      const small = base.derive({ images: 64 });
      const fullSession = await createSession(encodeModel(result.model), 'the quantized model', { optimization });
      const worst = (await small.evaluate(fullSession)).points.sort((a, b) => b.lossDb - a.lossDb).slice(0, 4);
      await fullSession.release();
      searchEvaluator = small.derive({ grid: worst.map((p) => p.snrDb).sort((a, b) => a - b) });
    }
    const searched = await sensitivitySearch(opts, result, build, held.rows, floatSession, searchEvaluator, optimization);
    result = searched.model;
    sensitivity = searched.result;
    if (evaluator && opts.target?.psnrLossDb !== undefined && searchEvaluator !== evaluator) {
      ({ result, sensitivity } = await verifyOnAll(evaluator, opts.target.psnrLossDb, result, sensitivity, build, optimization));
    }
  }

  opts.onProgress?.({ phase: 'evaluate', done: 0 });
  const quantBytes = encodeModel(result.model);
  const quantSession = await createSession(quantBytes, 'the quantized model');
  const floatOutputs = await runAll(floatSession, held.rows, 'the float model');
  const { overall, outputs } = await outputSqnr(floatSession, quantSession, held.rows, floatOutputs);
  const referenceSession = await createSession(quantBytes, 'the quantized model', { optimization: 'disabled' });
  const reference = await outputSqnr(floatSession, referenceSession, held.rows, floatOutputs);
  await referenceSession.release();
  if (preset.mode === 'int8' || preset.mode === 'trt') {
    const { activationType, weightType, reduceRange } = resolveQdqOptions(qdqOpts);
    warn(kernelGap({ kernelsDb: overall, referenceDb: reference.overall, activationType, weightType, reduceRange, arch: process.arch }));
  }
  const tensors = preset.mode === 'fp16' ? [] : await tensorSqnr(qModel, result.model, held.rows, opts.tensorRows ?? 8);
  const runs = opts.latencyRuns ?? 20;
  const one = batchOf(held.rows, 0, 1);
  const floatMs = await medianLatencyMs(floatSession, one, runs);
  const quantizedMs = await medianLatencyMs(quantSession, one, runs);
  let jsccReport: JsccEvaluation | { skipped: string } | undefined;
  let jsccReference: JsccEvaluation | undefined;
  if (evaluator) {
    jsccReport = await evaluator.evaluate(quantSession);
    const refSession = await createSession(quantBytes, 'the quantized model', { optimization: 'disabled' });
    jsccReference = await evaluator.evaluate(refSession);
    await refSession.release();
  } else if (jscc) jsccReport = { skipped: 'no encoder-side images (pass --jscc-images, or held-out data with image inputs)' };
  await Promise.all([floatSession.release(), quantSession.release()]);

  await writeModelAtomic(opts.output, result.model);
  const inBytes = (await stat(opts.input)).size;
  const outBytes = (await stat(opts.output)).size;
  const kept = new Set(sensitivity?.keptInFloat ?? []);
  const report: QuantizeReport = {
    input: { path: opts.input, bytes: inBytes },
    output: { path: opts.output, bytes: outBytes },
    sizeRatio: outBytes / inBytes,
    preset: {
      name: preset.name, mode: preset.mode, perChannel: qdqOpts.perChannel, reason: preset.reason, cardPreset: preset.cardPreset,
      ...(preset.device !== undefined ? { device: preset.device } : {}),
      ...(preset.mode === 'int8' || preset.mode === 'trt' ? { activationType: qdqOpts.activationType, weightType: qdqOpts.weightType, placement } : {}),
    },
    ...(ptqReport ? { ptq: ptqReport } : {}),
    ...(calibration ? { calibration } : {}),
    heldOut: { samples: held.rows.count, source: held.source },
    quantizedNodes: result.quantizedNodes.length,
    leftInFloat: result.skipped.map((s) =>
      kept.has(s.node) ? { ...s, reason: `kept in float by the accuracy-driven search${opts.keptWeights === 'float' ? '' : ' (activations; weights int8)'} (${s.reason})` } : s,
    ),
    outputSqnrDb: overall,
    referenceSqnrDb: reference.overall,
    outputs,
    tensors,
    latency: { runs, floatMs, quantizedMs, ratio: quantizedMs / floatMs },
    ...(jsccReport ? { jscc: jsccReport } : {}),
    ...(jsccReference ? { jsccReference } : {}),
    ...(sensitivity ? { sensitivity: { ...sensitivity, semantics } } : {}),
    warnings,
    seconds: (performance.now() - started) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  if (opts.card === false) return report;
  const images = typeof opts.jsccImages === 'string' ? { jsccImages: opts.jsccImages } : {};
  const card = await writeQuantizedCard(report, { input: opts.input, output: opts.output, opset: opsetVersion(result.model) ?? 0, ...images });
  return { ...report, card: 'path' in card ? { path: card.path } : card };
}

/** Every float tensor computed by a node or fed as a graph input (constants excluded). */
function floatActivations(model: Model): string[] {
  const types = inferElemTypes(model.graph, topoSort(model.graph));
  const inits = new Set(model.graph.initializer.map((t) => t.name));
  const names = [...model.graph.input.map((i) => i.name), ...model.graph.node.filter((n) => n.opType !== 'Constant').flatMap((n) => n.output)];
  return names.filter((n) => n !== '' && !inits.has(n) && types.get(n) === DataType.FLOAT);
}

async function jsccImages(opts: QuantizeOptions, held: LoadedData, jscc: JsccModelInfo | undefined, ctx: { model: Model }): Promise<RowTable | undefined> {
  if (jscc === undefined) return undefined;
  if (opts.jsccImages === undefined) return held.encoderRows;
  const encoderModel = jscc.role === 'encoder' ? ctx.model : await readModel(jscc.encoderPath);
  const encoderSession = await createSession(jscc.role === 'encoder' ? encodeModel(ctx.model) : await readFile(jscc.encoderPath), jscc.encoderPath);
  const loaded = await loadData(opts.jsccImages, { model: encoderModel, session: encoderSession, jscc: { ...jscc, role: 'encoder' } });
  await encoderSession.release();
  return loaded.rows;
}

async function sensitivitySearch(
  opts: QuantizeOptions,
  full: QdqResult,
  build: (keep: readonly string[]) => QdqResult,
  heldRows: RowTable,
  floatSession: Awaited<ReturnType<typeof createSession>>,
  evaluator: JsccEvaluator | undefined,
  optimization: 'all' | 'disabled',
): Promise<{ result: SensitivityResult; model: QdqResult }> {
  const psnr = opts.target?.psnrLossDb;
  if (psnr !== undefined && evaluator === undefined) {
    throw new AkbError('BAD_OPTION', '--target-psnr-loss needs a JSCC model with encoder-side images', { hint: 'use --target-sqnr for other models' });
  }
  const floatOut = await runAll(floatSession, heldRows, 'the float model');
  const score = async (r: QdqResult): Promise<number> => {
    const session = await createSession(encodeModel(r.model), 'a candidate model', { optimization });
    try {
      if (psnr !== undefined) return -(await evaluator!.evaluate(session)).maxLossDb;
      return (await outputSqnr(floatSession, session, heldRows, floatOut)).overall;
    } finally {
      await session.release();
    }
  };
  return searchSensitivity({
    candidates: full.quantizedNodes,
    build,
    score,
    // PSNR candidates are scored on a subset of images and SNRs: aim 15% below the allowed loss so the
    // result holds on all of them (the report measures it there).
    target: psnr !== undefined ? { metric: 'psnr-loss', minScore: -psnr * SEARCH_MARGIN } : { metric: 'sqnr', minScore: opts.target!.sqnrDb! },
    ...(opts.target?.strategy ? { strategy: opts.target.strategy } : {}),
    onProgress: (done, total) => opts.onProgress?.({ phase: 'sensitivity', done, ...(total !== undefined ? { total } : {}) }),
  });
}
