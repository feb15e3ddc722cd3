/**
 * The quantization bench's inputs: where the models and data live, the Python reference (onnxruntime's
 * quantize_static), and preparing what is missing. Python is optional: without it the onnxruntime
 * column is reported missing, and the data must have been made on a machine that has it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HERE = join(ROOT, 'bench', 'quantize');
export const WORK = process.env.AKB_QUANT_WORK ?? join(HERE, '.work');
export const DATA = join(WORK, 'data');

export const JSCC_MODELS = ['deepjscc-r12-snr7-enc', 'deepjscc-r12-snr7-dec', 'deepjscc-r12-adaptive-enc', 'deepjscc-r12-adaptive-dec', 'akb-jscc-enc', 'akb-jscc-dec'];
export const CNNS = ['mobilenet_v3_small', 'squeezenet1_1', 'resnet18'];
export const MODELS = [...JSCC_MODELS, 'akb-dqn-policy', ...CNNS];

export function modelPath(name: string): string {
  return CNNS.includes(name) ? join(WORK, 'cnn', `${name}.onnx`) : join(ROOT, 'models', 'zoo', name, 'model.onnx');
}

export function dataDir(name: string, split: 'calib' | 'heldout'): string {
  return join(DATA, CNNS.includes(name) ? 'cnn' : name, split);
}

/** The encoder-side images for a JSCC model's PSNR (1,000 CIFAR-10 test images). */
export function psnrDir(name: string): string {
  return join(DATA, 'jscc-psnr', name.replace(/-dec$/, '-enc'));
}

/** The Python with onnxruntime.quantization: $AKB_PYTHON, else /opt/pyq/bin/python; undefined when neither exists. */
export function findPython(): string | undefined {
  const candidates = [process.env.AKB_PYTHON, '/opt/pyq/bin/python'].filter((p): p is string => p !== undefined && p !== '');
  return candidates.find((p) => existsSync(p));
}

function runPython(python: string, script: string, args: string[] = []): string {
  const r = spawnSync(python, [join(HERE, script), ...args], { cwd: HERE, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${script} failed (exit ${String(r.status)})`);
  return r.stdout;
}

/** Makes the CNN exports and the .npy data with Python when they are missing; throws when they are missing and Python is too. */
export function ensureData(python: string | undefined): void {
  const needCnn = CNNS.some((m) => !existsSync(modelPath(m)));
  const needData = !existsSync(join(DATA, 'cnn', 'heldout', 'input.npy')) || !existsSync(psnrDir('akb-jscc-enc'));
  if (!needCnn && !needData) return;
  if (python === undefined) throw new Error(`the bench data is missing under ${WORK}: run bench/quantize/export_cnns.py and make_data.py with a Python that has torch, torchvision and onnxruntime (set AKB_PYTHON)`);
  if (needCnn) runPython(python, 'export_cnns.py');
  if (needData) runPython(python, 'make_data.py');
}

/** onnxruntime's reference results (see ort_reference.py), or why they are missing. */
export type OrtReference = { onnxruntime: string; models: Record<string, { variants: Record<string, { path?: string; bytes?: number; sqnrDb?: number; ms?: number; error?: string }> }> } | { missing: string };

/** Runs ort_reference.py (or reuses .work/ort.json with `reuse`). */
export function ortReference(python: string | undefined, models: string[], methods: string[], types: string[], reuse: boolean): OrtReference {
  const cached = join(WORK, 'ort.json');
  if (reuse && existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as OrtReference;
  if (python === undefined) return { missing: 'no Python with onnxruntime (set AKB_PYTHON or install /opt/pyq)' };
  const out = runPython(python, 'ort_reference.py', ['--models', models.join(','), '--methods', methods.join(','), '--types', types.join(','), '--runs', '10']);
  writeFileSync(cached, out);
  return JSON.parse(out) as OrtReference;
}
