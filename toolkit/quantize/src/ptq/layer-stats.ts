/**
 * First and second moments of each weighted layer's input patches, from calibration samples run
 * through the FLOAT model in onnxruntime-node (graph optimisation off, one sample at a time, as
 * calibrate/run.ts does), with the layers' input activations added as graph outputs:
 *
 *   mean_g = E[x],  H_g = E[x x^T]   over patches x of group g (patches.ts; padding counts as 0).
 *
 * Bounds: at most `maxPatches` patch positions per layer over all samples (a share of
 * ceil(maxPatches / samples) per sample until the budget is spent, positions drawn without
 * replacement by a seeded generator, so runs repeat exactly); H is skipped (mean only) for a layer
 * whose patch length K exceeds `maxHessianRow` (default 4608: a 4608 x 4608 float64 H is 170 MB);
 * and the layers whose H are held at once are kept under `maxHessianBytes` (default 1 GiB) by
 * running the samples once per batch of layers. H is summed by onnxruntime in blocks of 256
 * patches (gram.ts): K^2 multiply-adds per patch, 5.2 G for a 5x5x64 Conv (K = 1600) at 2048
 * patches, 1.5-4 s for a whole Deep JSCC encoder or decoder.
 */
import { AkbError } from '@akb/protocol';
import { ortThreadOptions } from '@akb/jscc';
import * as ort from 'onnxruntime-node';
import { checkSample, modelInputs } from '../calibrate/inputs.js';
import type { CalibrationSample } from '../calibrate/types.js';
import { withOutputs } from '../onnx/graph.js';
import { encodeModel } from '../onnx/io.js';
import type { Model, Node } from '../onnx/types.js';
import type { QdqOptions } from '../qdq/options.js';
import { BLOCK_ROWS, GramEngine } from './gram.js';
import { patchSource } from './patches.js';
import { findTargets, prepareWorkingCopy, type LayerTarget, type SkippedLayer } from './targets.js';
import { seededRandom } from '../jscc/channel.js';

/** Options of `collectLayerStats`. */
export interface LayerStatsOptions {
  /** Patch positions per layer over all samples (default 2048). */
  maxPatches?: number;
  /** Largest patch length K for which H is collected (default 4608); longer rows get the mean only. */
  maxHessianRow?: number;
  /** Bytes of H held at once (default 1 GiB); more layers are collected in further passes. */
  maxHessianBytes?: number;
  /** Seed of the position sampling (default 1). */
  seed?: number;
  /** Called after each sample run: runs done and the total (passes included). */
  onProgress?: (done: number, total: number) => void;
}

/** The moments of one layer. */
export interface LayerMoments {
  target: LayerTarget;
  /** Patch positions averaged over (each gives one patch per group). */
  patches: number;
  /** Per group: E[x], length K. */
  mean: Float64Array[];
  /** Per group: E[x x^T], K x K row-major, symmetric; absent when skipped (see `hessianSkipped`). */
  hessian?: Float64Array[];
  hessianSkipped?: string;
}

/** The moments of every layer, and the working copy of the model whose names they use. */
export interface LayerStats {
  /** `prepareWorkingCopy(model)`: the methods edit copies of this model. */
  model: Model;
  /** By node name. */
  layers: Map<string, LayerMoments>;
  /** Weighted nodes without moments, and why. */
  skipped: SkippedLayer[];
}

/** The seeded generator (mulberry32) the channel models use: sampling repeats exactly from its seed. */
export { seededRandom };

function hashName(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** `take` distinct positions of `total`, ascending (all of them when take >= total); Floyd's sampling. */
export function choosePositions(total: number, take: number, random: () => number): number[] {
  if (take >= total) return Array.from({ length: total }, (_, i) => i);
  const chosen = new Set<number>();
  for (let j = total - take; j < total; j++) {
    const r = Math.floor(random() * (j + 1));
    chosen.add(chosen.has(r) ? j : r);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** Accumulating moments of one layer. */
class Accumulator {
  readonly sums: Float64Array[];
  readonly outer?: Float64Array[];
  count = 0;
  private readonly patch: Float64Array;
  private readonly random: () => number;
  /** Per group: the buffered patches, [BLOCK_ROWS, K] row-major, folded into H by onnxruntime. */
  private readonly block?: Float32Array[];
  private filled = 0;

  constructor(
    readonly target: LayerTarget,
    private readonly node: Node,
    withHessian: boolean,
    private readonly perSample: number,
    private readonly maxPatches: number,
    seed: number,
    private readonly gram: GramEngine,
  ) {
    const K = target.rowLength;
    this.sums = Array.from({ length: target.groups }, () => new Float64Array(K));
    if (withHessian) {
      this.outer = Array.from({ length: target.groups }, () => new Float64Array(K * K));
      this.block = Array.from({ length: target.groups }, () => new Float32Array(K * BLOCK_ROWS));
    }
    this.patch = new Float64Array(K);
    this.random = seededRandom(seed ^ hashName(target.node));
  }

  async observe(x: Float32Array, dims: readonly number[]): Promise<void> {
    const src = patchSource(this.target, this.node, x, dims);
    const K = this.target.rowLength;
    const p = this.patch;
    const take = Math.min(this.perSample, this.maxPatches - this.count);
    if (take <= 0) return;
    for (const pos of choosePositions(src.positions, take, this.random)) {
      for (let g = 0; g < this.target.groups; g++) {
        src.fill(pos, g, p);
        const sum = this.sums[g]!;
        for (let k = 0; k < K; k++) sum[k]! += p[k]!;
        this.block?.[g]!.set(p, this.filled * K);
      }
      this.count++;
      if (this.block && ++this.filled === BLOCK_ROWS) await this.flush();
    }
  }

  /** Adds the buffered patches' outer products to H. */
  private async flush(): Promise<void> {
    const K = this.target.rowLength;
    for (let g = 0; g < this.target.groups; g++) await this.gram.accumulate(this.block![g]!, this.filled, K, this.outer![g]!);
    this.filled = 0;
  }

  async result(skipReason: string | undefined): Promise<LayerMoments> {
    if (this.filled > 0) await this.flush();
    const n = Math.max(1, this.count);
    const mean = this.sums.map((s) => s.map((v) => v / n));
    const hessian = this.outer?.map((h) => h.map((v) => v / n));
    return { target: this.target, patches: this.count, mean, ...(hessian ? { hessian } : { hessianSkipped: skipReason }) };
  }
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}

function floatInput(t: LayerTarget, v: ort.Tensor | undefined): Float32Array {
  if (!v || v.type !== 'float32') {
    throw new AkbError('BAD_CALIBRATION_TENSOR', `node '${t.node}': its input '${t.input}' is ${v?.type ?? 'missing'}, not float32`, { hint: 'the layer statistics need float32 activations' });
  }
  return v.data as Float32Array;
}

/** Batches of targets whose H fit in `budget` bytes together (one that does not fit alone gets its own). */
function passes(targets: readonly { t: LayerTarget; withH: boolean }[], budget: number): { t: LayerTarget; withH: boolean }[][] {
  const out: { t: LayerTarget; withH: boolean }[][] = [];
  let current: { t: LayerTarget; withH: boolean }[] = [];
  let bytes = 0;
  for (const item of targets) {
    const need = item.withH ? item.t.groups * item.t.rowLength ** 2 * 8 : 0;
    if (current.length > 0 && bytes + need > budget) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += need;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Runs the float model on `samples` and returns the input-patch moments of every layer quantizeQdq
 * would quantize with `qdq` (targets.ts). Throws one-line AkbErrors for samples that do not fit the
 * model and for a model onnxruntime cannot load or run.
 */
export async function collectLayerStats(model: Model, samples: readonly CalibrationSample[], qdq: QdqOptions, opts: LayerStatsOptions = {}): Promise<LayerStats> {
  const maxPatches = opts.maxPatches ?? 2048;
  const maxRow = opts.maxHessianRow ?? 4608;
  if (samples.length === 0) throw new AkbError('BAD_CALIBRATION_DATA', 'no calibration samples: the layer statistics need at least one', { hint: 'pass calibration samples' });
  const work = prepareWorkingCopy(model);
  const { targets, skipped } = findTargets(work, qdq);
  const nodes = new Map(work.graph.node.map((n) => [n.name, n]));
  const inputs = modelInputs(work);
  const inputNames = new Set(inputs.map((i) => i.name));
  const perSample = Math.max(1, Math.ceil(maxPatches / samples.length));
  const items = targets.map((t) => ({ t, withH: t.rowLength <= maxRow }));
  const batches = passes(items, opts.maxHessianBytes ?? 2 ** 30);
  const layers = new Map<string, LayerMoments>();
  const total = batches.length * samples.length;
  let done = 0;
  const gram = new GramEngine();
  try {
    for (const batch of batches) {
      const accs = batch.map(({ t, withH }) => new Accumulator(t, nodes.get(t.node)!, withH, perSample, maxPatches, opts.seed ?? 1, gram));
      const fetch = [...new Set(batch.map(({ t }) => t.input).filter((n) => !inputNames.has(n)))];
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(encodeModel(withOutputs(work, fetch)), { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'], ...ortThreadOptions() });
      } catch (e) {
        throw new AkbError('MODEL_DOES_NOT_RUN', `onnxruntime cannot load the model for the layer statistics: ${firstLine(e)}`, { cause: e });
      }
      try {
        for (const [index, sample] of samples.entries()) {
          checkSample(sample, inputs, index);
          let out: ort.InferenceSession.OnnxValueMapType;
          try {
            out = fetch.length > 0 ? await session.run(sample, fetch) : {};
          } catch (e) {
            throw new AkbError('MODEL_DOES_NOT_RUN', `the model failed to run on calibration sample ${index}: ${firstLine(e)}`, { cause: e });
          }
          for (const acc of accs) {
            const v = inputNames.has(acc.target.input) ? sample[acc.target.input] : out[acc.target.input];
            await acc.observe(floatInput(acc.target, v), v!.dims);
          }
          opts.onProgress?.(++done, total);
        }
      } finally {
        await session.release();
      }
      for (const acc of accs) {
        const why = `patch length ${acc.target.rowLength} > ${maxRow}: H would take ${((acc.target.groups * acc.target.rowLength ** 2 * 8) / 2 ** 20).toFixed(0)} MB`;
        layers.set(acc.target.node, await acc.result(why));
      }
    }
  } finally {
    await gram.release();
  }
  return { model: work, layers, skipped };
}
