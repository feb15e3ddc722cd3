/**
 * Adaptive rounding of every layer's weights (round-row.ts per output channel, with H from
 * layer-stats.ts), written back into the float model as weights snapped onto the quantization grid:
 * `w' = float32((q - zp) * scale)`, which quantizeQdq quantizes back to exactly q with the same scale.
 * The scale survives because each quantization channel's smallest and largest weight keep their
 * float values (and their rounding), and no other weight is allowed a grid value outside
 * [channel min, channel max]: the channel's range, hence its scale and zero point, do not move.
 *
 * With `centered` (the default; use it when bias correction follows), rows minimize the error's
 * variance, `d^T (H - mu mu^T) d`, since bias correction then removes its mean `mu^T d` per channel.
 * The input model is not changed.
 */
import type { Model } from '../onnx/types.js';
import { cloneForRewrite } from '../qdq/prepare.js';
import { dequantized, floatInitializer, setInitializer, weightGrid, type WeightGrid } from './grid.js';
import type { LayerMoments, LayerStats } from './layer-stats.js';
import { roundRow } from './round-row.js';
import { rowIndexer, type SkippedLayer } from './targets.js';

/** Options of `adaround`. */
export interface AdaroundOptions {
  /** Minimize the error's variance instead of its second moment (default true: bias correction follows). */
  centered?: boolean;
  /** Sweeps per row (single and pair flips; default 20). */
  maxSweeps?: number;
  /**
   * Pair flips after single flips converge (default false): on the Deep JSCC encoder (7-bit weights)
   * they gave +0.04 dB output SQNR for 3x the time of single flips.
   */
  pairs?: boolean;
  /**
   * Ridge added to H's diagonal, as a fraction of its mean diagonal (default 0.01). With fewer patches
   * than K, H is singular and the search would fit the calibration patches' null space.
   */
  damping?: number;
  /** Milliseconds per layer (default 30,000): past it, the layer's remaining rows keep what they have. */
  layerBudgetMs?: number;
  /** Called after each layer: layers done and their number. */
  onProgress?: (done: number, total: number) => void;
  /** Clock in milliseconds (default performance.now): tests stop the search by it. */
  now?: () => number;
}

/** What adaptive rounding did to one layer; errors are sums over rows of d^T H d, with H centered when asked and damped. */
export interface AdaroundLayer {
  node: string;
  /** The weight initializer written. */
  weight: string;
  errorBefore: number;
  errorAfter: number;
  /** 10 log10(sum of w^T H w / error): a layer output SQNR, round to nearest and after (dB). */
  sqnrBeforeDb: number;
  sqnrAfterDb: number;
  /** Weights whose integer differs from round to nearest. */
  changed: number;
  weights: number;
  /** The time budget ran out before every row converged. */
  stoppedEarly: boolean;
}

/** Adaptive rounding's result. */
export interface AdaroundResult {
  model: Model;
  layers: AdaroundLayer[];
  skipped: SkippedLayer[];
}

/**
 * Per quantization channel, its smallest and largest weight, and the integers whose grid value lies
 * between them (so that choosing them cannot move the channel's range, hence its scale).
 */
function channelRanges(grid: WeightGrid): { lo: Float64Array; hi: Float64Array; qLow: Int32Array; qHigh: Int32Array } {
  const n = grid.scales.length;
  const lo = new Float64Array(n).fill(Infinity);
  const hi = new Float64Array(n).fill(-Infinity);
  const first = new Int32Array(n).fill(-1);
  grid.values.forEach((v, i) => {
    const c = grid.channelOf(i);
    if (first[c] === -1) first[c] = i;
    if (v < lo[c]!) lo[c] = v;
    if (v > hi[c]!) hi[c] = v;
  });
  const qLow = new Int32Array(n);
  const qHigh = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const i = first[c]!;
    if (i === -1) continue;
    const [s, zp] = [grid.scales[c]!, grid.zeroPoints[c]!];
    let a = Math.max(grid.qmin, Math.ceil(lo[c]! / s + zp) - 2);
    let b = Math.min(grid.qmax, Math.floor(hi[c]! / s + zp) + 2);
    while (a < b && dequantized(grid, i, a) < lo[c]!) a++;
    while (b > a && dequantized(grid, i, b) > hi[c]!) b--;
    qLow[c] = a;
    qHigh[c] = b;
  }
  return { lo, hi, qLow, qHigh };
}

/** `H - mu mu^T` when centered, else H, plus `damping` times the mean diagonal on the diagonal. */
function objective(h: Float64Array, mu: Float64Array, centered: boolean, damping: number): Float64Array {
  const K = mu.length;
  const out = new Float64Array(h.length);
  let trace = 0;
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) out[i * K + j] = h[i * K + j]! - (centered ? mu[i]! * mu[j]! : 0);
    trace += out[i * K + i]!;
  }
  const ridge = (damping * trace) / K;
  for (let i = 0; i < K; i++) out[i * K + i]! += ridge;
  return out;
}

function db(signal: number, noise: number): number {
  return noise <= 0 ? Infinity : 10 * Math.log10(signal / noise);
}

/** Rounds one layer; returns the snapped weight values and the summary. */
function roundLayer(m: LayerMoments, grid: WeightGrid, opts: AdaroundOptions): { values: Float32Array; summary: Omit<AdaroundLayer, 'node' | 'weight'> } {
  const t = m.target;
  const K = t.rowLength;
  const index = rowIndexer(t);
  const { lo, hi, qLow: chanLow, qHigh: chanHigh } = channelRanges(grid);
  const now = opts.now ?? (() => performance.now());
  const deadline = now() + (opts.layerBudgetMs ?? 30_000);
  const q = Int32Array.from(grid.q);
  const perGroup = t.outChannels / t.groups;
  let [before, after, signal] = [0, 0, 0];
  let stoppedEarly = false;
  const idx = new Int32Array(K);
  for (let g = 0; g < t.groups; g++) {
    const H = objective(m.hessian![g]!, m.mean[g]!, opts.centered ?? true, opts.damping ?? 0.01);
    for (let o = g * perGroup; o < (g + 1) * perGroup; o++) {
      for (let k = 0; k < K; k++) idx[k] = index(o, k);
      const w = Float64Array.from(idx, (i) => grid.values[i]!);
      const qLow = new Int32Array(K);
      const qHigh = new Int32Array(K);
      const fixed = new Uint8Array(K);
      const position = new Float64Array(K);
      idx.forEach((i, k) => {
        const c = grid.channelOf(i);
        const v = grid.values[i]!;
        fixed[k] = v === lo[c] || v === hi[c] ? 1 : 0;
        position[k] = v / grid.scales[c]! + grid.zeroPoints[c]!;
        qLow[k] = Math.min(chanLow[c]!, grid.q[i]!);
        qHigh[k] = Math.max(chanHigh[c]!, grid.q[i]!);
      });
      const start = Int32Array.from(idx, (i) => q[i]!);
      const r = roundRow({ w, deq: (k, v) => dequantized(grid, idx[k]!, v), qLow, qHigh, position, fixed, H }, start, {
        maxSweeps: opts.maxSweeps,
        pairs: opts.pairs ?? false,
        shouldStop: () => {
          const late = now() > deadline;
          stoppedEarly ||= late;
          return late;
        },
      });
      idx.forEach((i, k) => (q[i] = r.q[k]!));
      before += r.before;
      after += r.after;
      for (let i = 0; i < K; i++) {
        let s = 0;
        for (let j = 0; j < K; j++) s += H[i * K + j]! * w[j]!;
        signal += w[i]! * s;
      }
    }
  }
  const values = Float32Array.from(grid.values);
  let changed = 0;
  q.forEach((v, i) => {
    if (v !== grid.q[i]) changed++;
    const c = grid.channelOf(i);
    if (grid.values[i] !== lo[c] && grid.values[i] !== hi[c]) values[i] = dequantized(grid, i, v);
  });
  return {
    values,
    summary: { errorBefore: before, errorAfter: after, sqnrBeforeDb: db(signal, before), sqnrAfterDb: db(signal, after), changed, weights: q.length, stoppedEarly },
  };
}

/**
 * Adaptive rounding of every layer of `stats` that has H. `model` is `stats.model` or a model the
 * ptq methods derived from it (same node names); the weight specs are those of the QdqOptions given
 * to collectLayerStats, which must also be the options of the later quantizeQdq. Returns a new Model
 * with snapped weights and per-layer summaries.
 */
export function adaround(model: Model, stats: LayerStats, opts: AdaroundOptions = {}): AdaroundResult {
  const out = cloneForRewrite(model);
  const nodes = new Map(out.graph.node.map((n) => [n.name, n]));
  const layers: AdaroundLayer[] = [];
  const skipped: SkippedLayer[] = [...stats.skipped];
  let done = 0;
  for (const [name, m] of stats.layers) {
    const node = nodes.get(name);
    const weight = floatInitializer(out.graph, node?.input[1]);
    if (!node || !weight) skipped.push({ node: name, reason: 'its weight is not a float initializer of the model' });
    else if (!m.hessian) skipped.push({ node: name, reason: `no H: ${m.hessianSkipped ?? 'not collected'}` });
    else {
      const { values, summary } = roundLayer(m, weightGrid(weight.tensor, m.target.spec), opts);
      const written = setInitializer(out.graph, node, 1, values, [...weight.tensor.dims], `${weight.tensor.name}_adarounded`);
      layers.push({ node: name, weight: written, ...summary });
    }
    opts.onProgress?.(++done, stats.layers.size);
  }
  return { model: out, layers, skipped };
}
