/**
 * The options of `quantizeModel` checked and resolved before any work: the preset (with `mode`), the Q/DQ
 * placement, `--exclude` names, and the output path.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AkbError } from '@akb/protocol';
import type { Model } from './onnx/types.js';
import { presetByName, presetNames, type Preset } from './presets.js';
import type { QdqPlacement } from './qdq/placement.js';
import type { QuantizeOptions } from './quantize.js';

/** The preset of the options, with `mode` applied; unknown names are a one-line error. */
export function resolvePreset(opts: Pick<QuantizeOptions, 'preset' | 'mode'>): Preset {
  const given = opts.preset ?? 'int8';
  const preset = typeof given === 'string' ? presetByName(given) : given;
  if (preset === undefined) throw new AkbError('UNKNOWN_PRESET', `unknown preset "${typeof given === 'string' ? given : given.name}"`, { hint: `one of ${presetNames().join(', ')}, or a device profile id` });
  if (opts.mode === undefined || opts.mode === preset.mode) return preset;
  const byMode = { int8: 'int8', trt: 'trt', fp16: 'fp16', 'weight-only': 'weight-only' }[opts.mode];
  return { ...presetByName(byMode)!, reason: `mode ${opts.mode} requested` };
}

/** Splits `--exclude` names into op types (some node has that op type) and node names; unknown names are an error. */
export function splitExclude(model: Model, names: readonly string[]): { excludeNodes: string[]; excludeOpTypes: string[] } {
  const ops = new Set(model.graph.node.map((n) => n.opType));
  const nodes = new Set(model.graph.node.map((n, i) => n.name || `${n.opType}_${i}`));
  const excludeNodes: string[] = [];
  const excludeOpTypes: string[] = [];
  for (const name of names) {
    if (ops.has(name)) excludeOpTypes.push(name);
    else if (nodes.has(name)) excludeNodes.push(name);
    else throw new AkbError('BAD_EXCLUDE', `--exclude ${name}: the model has no node or op type of that name`);
  }
  return { excludeNodes, excludeOpTypes };
}

/** The Q/DQ placement: the option, else the preset's, else onnxruntime's; refused for fp16 and weight-only. */
export function resolvePlacement(opts: Pick<QuantizeOptions, 'placement'>, preset: Preset): QdqPlacement {
  if (opts.placement !== undefined && preset.mode !== 'int8' && preset.mode !== 'trt') throw new AkbError('BAD_OPTION', `--placement works with int8 and trt, not ${preset.mode}`);
  return opts.placement ?? preset.placement ?? 'onnxruntime';
}

/** Refuses before any work an output that cannot be written: a missing folder, or the input itself. */
export async function checkOutput(input: string, output: string): Promise<void> {
  if (resolve(input) === resolve(output)) throw new AkbError('BAD_OUTPUT', `the output ${output} is the input model`, { hint: 'write to another file' });
  const dir = dirname(resolve(output));
  let ok = false;
  try {
    ok = (await stat(dir)).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new AkbError('BAD_OUTPUT', `cannot write ${output}: the folder ${dir} does not exist`);
}

