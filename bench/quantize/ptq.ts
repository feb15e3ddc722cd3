/**
 * Issue 16: what each post-training method buys over onnxruntime's `quantize_static` (U8S8, per-channel,
 * MinMax, QDQ: ort_reference.py, run here or reused from .work/ort.json), on the same calibration and
 * held-out rows as bench/quantize.ts. Per model, akb with:
 *
 *   plain      the onnxruntime-equal quantizer (MinMax)
 *   cle        + cross-layer equalization          ada   + adaptive rounding
 *   bc         + bias correction                    mse   MSE-optimal activation ranges instead of MinMax
 *   all        cle + ada + bc + mse (each step on)
 *   wi         plain with Q/DQ only on the inputs of weighted ops (--placement weighted-inputs)
 *   wi-all     all with that placement
 *
 * Output SQNR on the held-out rows against the float model, with this CPU's fused kernels and in the QDQ
 * reference semantics (optimizations off), the gain over onnxruntime's model measured the same way, the
 * time, and the quantized/float latency with this CPU's kernels (the placement's cost on onnxruntime). JSCC models also get the PSNR loss through AWGN on the card's SNR grid (QDQ reference semantics,
 * 1,000 CIFAR-10 test images; the worst point and its SNR) for plain, all, wi and wi-all, and with `--search` the accuracy-driven mode (0.1 dB) after
 * plain and after all: how many nodes stay in float. MobileNetV3-small with every step: wall time and
 * peak RSS in a fresh process (timing.ts --ptq).
 *
 *   npx tsx bench/quantize/ptq.ts [--models a,b] [--variants plain,all] [--no-psnr] [--search] [--reuse-ort]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { quantizeModel, type QuantizeOptions } from '../../toolkit/quantize/src/quantize.js';
import { outputSqnr } from '../../toolkit/quantize/src/report/output-sqnr.js';
import { inputRowDims, readNpyFolder } from '../../toolkit/quantize/src/report/npy-folder.js';
import { createSession } from '../../toolkit/quantize/src/report/session.js';
import { CNNS, dataDir, ensureData, findPython, HERE, JSCC_MODELS, MODELS, modelPath, ortReference, psnrDir, ROOT, WORK } from './setup.js';

const VARIANTS: Record<string, Partial<QuantizeOptions>> = {
  plain: {},
  cle: { ptq: { cle: true } },
  bc: { ptq: { biasCorrection: true } },
  ada: { ptq: { adaround: true } },
  mse: { method: 'mse' },
  all: { ptq: { cle: true, adaround: true, biasCorrection: true }, method: 'mse' },
  wi: { placement: 'weighted-inputs' },
  'wi-all': { ptq: { cle: true, adaround: true, biasCorrection: true }, method: 'mse', placement: 'weighted-inputs' },
};
const PSNR_VARIANTS = ['plain', 'all', 'wi', 'wi-all'];

const round2 = (x: number): number => Math.round(x * 100) / 100;

async function ortSide(name: string, reference: ReturnType<typeof ortReference>): Promise<{ sqnrDb: number; referenceSqnrDb: number } | { missing: string }> {
  if ('missing' in reference) return { missing: reference.missing };
  const path = reference.models[name]?.variants['u8s8.minmax']?.path;
  if (path === undefined || !existsSync(path)) return { missing: 'no onnxruntime model' };
  const input = modelPath(name);
  const floatSession = await createSession(await readFile(input), input);
  const held = await readNpyFolder(dataDir(name, 'heldout'), inputRowDims(floatSession));
  const bytes = await readFile(path);
  const kernels = await createSession(bytes, path);
  const ref = await createSession(bytes, path, { optimization: 'disabled' });
  try {
    return { sqnrDb: (await outputSqnr(floatSession, kernels, held)).overall, referenceSqnrDb: (await outputSqnr(floatSession, ref, held)).overall };
  } finally {
    await Promise.all([floatSession.release(), kernels.release(), ref.release()]);
  }
}

function options(name: string, output: string, extra: Partial<QuantizeOptions>): QuantizeOptions {
  return { input: modelPath(name), output, preset: 'int8', calib: dataDir(name, 'calib'), heldOut: dataDir(name, 'heldout'), jscc: false, latencyRuns: 5, tensorRows: 2, card: false, ...extra };
}

async function jsccLoss(name: string, out: string, variant: string, search: boolean): Promise<object> {
  const common: Partial<QuantizeOptions> = { ...VARIANTS[variant], jscc: true, jsccImages: psnrDir(name), semantics: 'reference' };
  const r = await quantizeModel(options(name, join(out, `${name}.${variant}.psnr.onnx`), common));
  const loss = r.jsccReference?.maxLossDb;
  const worst = r.jsccReference?.points.reduce((a, b) => (b.lossDb > a.lossDb ? b : a));
  const entry: Record<string, unknown> = {
    referenceMaxLossDb: loss === undefined ? null : Math.round(loss * 1000) / 1000,
    worstSnrDb: worst?.snrDb ?? null,
    kernelsMaxLossDb: r.jscc && 'maxLossDb' in r.jscc ? Math.round(r.jscc.maxLossDb * 1000) / 1000 : null,
  };
  if (search && !(loss !== undefined && loss <= 0.1)) {
    const s = await quantizeModel(options(name, join(out, `${name}.${variant}.search.onnx`), { ...common, target: { psnrLossDb: 0.1 } }));
    entry.search = { keptInFloat: s.sensitivity?.keptInFloat.length ?? null, of: s.sensitivity?.nodes.length ?? null, met: s.sensitivity?.met ?? null, referenceMaxLossDb: s.jsccReference ? round2(s.jsccReference.maxLossDb) : null };
  }
  return entry;
}

export async function runPtqBench(o: { models?: string[]; variants?: string[]; psnr?: boolean; search?: boolean; reuseOrt?: boolean } = {}): Promise<object> {
  const models = o.models ?? MODELS.filter((m) => m !== 'akb-dqn-policy');
  const variants = o.variants ?? Object.keys(VARIANTS);
  const python = findPython();
  ensureData(python);
  const reference = ortReference(python, models, ['minmax'], ['u8s8'], o.reuseOrt === true);
  const out = join(WORK, 'ptq');
  mkdirSync(out, { recursive: true });
  const results: Record<string, object> = {};
  for (const name of models) {
    const ort = await ortSide(name, reference);
    const rows: Record<string, object> = {};
    for (const v of variants) {
      process.stderr.write(`ptq bench: ${name} ${v}\n`);
      const t0 = performance.now();
      const r = await quantizeModel(options(name, join(out, `${name}.${v}.onnx`), VARIANTS[v]!));
      rows[v] = {
        sqnrDb: round2(r.outputSqnrDb),
        referenceSqnrDb: round2(r.referenceSqnrDb),
        ...('sqnrDb' in ort ? { overOrtDb: round2(r.outputSqnrDb - ort.sqnrDb), referenceOverOrtDb: round2(r.referenceSqnrDb - ort.referenceSqnrDb) } : {}),
        seconds: round2((performance.now() - t0) / 1000),
        latencyRatio: round2(r.latency.ratio),
        ...(r.ptq ? { ptqSeconds: round2(r.ptq.seconds), ptq: { ...r.ptq, skipped: r.ptq.skipped.length } } : {}),
      };
    }
    const jscc = o.psnr !== false && JSCC_MODELS.includes(name)
      ? Object.fromEntries(await Promise.all(PSNR_VARIANTS.filter((v) => variants.includes(v)).map(async (v) => [v, await jsccLoss(name, out, v, o.search === true)] as const)))
      : undefined;
    results[name] = { ort: 'sqnrDb' in ort ? { sqnrDb: round2(ort.sqnrDb), referenceSqnrDb: round2(ort.referenceSqnrDb) } : ort, variants: rows, ...(jscc ? { psnrLoss: jscc } : {}) };
    writeFileSync(join(WORK, 'ptq.json'), JSON.stringify(results, null, 1));
  }
  const timing = models.includes('mobilenet_v3_small') ? mobilenetTiming(out) : undefined;
  return { bench: 'quantize-ptq', onnxruntime: 'missing' in reference ? reference : reference.onnxruntime, results, ...(timing ? { mobilenetAllSteps: timing } : {}), cnns: CNNS };
}

/** MobileNetV3-small with every step on, in a fresh process: seconds and peak RSS. */
function mobilenetTiming(out: string): object {
  process.stderr.write('ptq bench: MobileNetV3-small with every step (fresh process)\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, 'timing.ts'), modelPath('mobilenet_v3_small'), dataDir('mobilenet_v3_small', 'calib'), join(out, 'mobilenet_v3_small.timing.onnx'), 'mse', '--ptq'], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) return { error: `timing.ts exited ${String(r.status)}` };
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as object;
}

if (process.argv[1]?.endsWith('ptq.ts')) {
  const { values } = parseArgs({ options: { models: { type: 'string' }, variants: { type: 'string' }, 'no-psnr': { type: 'boolean' }, search: { type: 'boolean' }, 'reuse-ort': { type: 'boolean' } } });
  const list = (s: string | undefined): string[] | undefined => s?.split(',').map((x) => x.trim());
  const result = await runPtqBench({
    ...(values.models ? { models: list(values.models)! } : {}),
    ...(values.variants ? { variants: list(values.variants)! } : {}),
    psnr: values['no-psnr'] !== true,
    search: values.search === true,
    reuseOrt: values['reuse-ort'] === true,
  });
  console.log(JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
}
