/**
 * Accuracy-driven quantization: the fewest nodes to keep in float so that a target holds.
 *
 * 1. Score the fully quantized model; if it meets the target, keep nothing in float.
 * 2. Measure each quantized node's sensitivity: the score with every node quantized but it
 *    ('leave-one-out', the default: what keeping it in float buys) or with only it quantized
 *    ('only-one': what quantizing it alone costs).
 * 3. Keep the most sensitive nodes in float: the shortest prefix of the ranking that meets the target
 *    (bisection over the prefix length, so about log2(n) more evaluations).
 * 4. Prune: try putting each kept node back (least sensitive first) and keep it quantized if the target
 *    still holds, so no node in the final set is unnecessary on its own.
 *
 * Scores are "higher is better" numbers (SQNR in dB, or minus the worst PSNR loss); the caller builds
 * and scores models, so the search works for any mode that can keep named nodes in float.
 */

/** What the search is told to reach. */
export interface SensitivityTarget {
  /** Name of the metric, for the report ('psnr-loss' or 'sqnr'). */
  metric: 'psnr-loss' | 'sqnr';
  /** The score that must be reached (for psnr-loss: minus the allowed loss in dB). */
  minScore: number;
}

/** One node's measured sensitivity. */
export interface NodeSensitivity {
  node: string;
  /** Score of the probe model (all but this node quantized, or only this one). */
  score: number;
  /** How much this node matters: score gained by keeping it in float (leave-one-out) or lost by quantizing it alone (only-one). */
  sensitivity: number;
}

export interface SensitivityResult {
  metric: 'psnr-loss' | 'sqnr';
  strategy: 'leave-one-out' | 'only-one';
  minScore: number;
  /** Score of the fully quantized model. */
  fullScore: number;
  /** Score of the chosen model. */
  finalScore: number;
  met: boolean;
  /** Nodes kept in float, most sensitive first. */
  keptInFloat: string[];
  /** Every candidate's sensitivity, most sensitive first. */
  nodes: NodeSensitivity[];
  evaluations: number;
  seconds: number;
  /** Set when the caller re-scored the choice on its full data after a search on a subset (finalScore is then that score). */
  verifiedOnAll?: boolean;
}

export interface SensitivityOptions<M> {
  /** Nodes that can be kept in float (the quantized nodes of the full model). */
  candidates: readonly string[];
  /** Builds the model with `keepFloat` nodes left unquantized. */
  build: (keepFloat: readonly string[]) => M | Promise<M>;
  /** Scores a model, higher is better. */
  score: (model: M) => Promise<number>;
  target: SensitivityTarget;
  strategy?: 'leave-one-out' | 'only-one';
  /** Called after each evaluation. */
  onProgress?: (done: number, total: number | undefined) => void;
}

/** Runs the search; never throws for an unreachable target (`met` is false then, with every node in float tried). */
export async function searchSensitivity<M>(opts: SensitivityOptions<M>): Promise<{ result: SensitivityResult; model: M }> {
  const started = performance.now();
  const strategy = opts.strategy ?? 'leave-one-out';
  const { candidates, target } = opts;
  let evaluations = 0;
  const total = 1 + candidates.length;
  const evaluate = async (keep: readonly string[]): Promise<{ model: M; score: number }> => {
    const model = await opts.build(keep);
    const score = await opts.score(model);
    evaluations++;
    opts.onProgress?.(evaluations, evaluations <= total ? total : undefined);
    return { model, score };
  };
  const full = await evaluate([]);
  const finish = (model: M, score: number, keptInFloat: string[], nodes: NodeSensitivity[]): { result: SensitivityResult; model: M } => ({
    model,
    result: {
      metric: target.metric, strategy, minScore: target.minScore, fullScore: full.score, finalScore: score, met: score >= target.minScore,
      keptInFloat, nodes, evaluations, seconds: (performance.now() - started) / 1000,
    },
  });
  if (full.score >= target.minScore) return finish(full.model, full.score, [], []);

  const nodes: NodeSensitivity[] = [];
  for (const node of candidates) {
    const keep = strategy === 'leave-one-out' ? [node] : candidates.filter((c) => c !== node);
    const { score } = await evaluate(keep);
    nodes.push({ node, score, sensitivity: strategy === 'leave-one-out' ? score - full.score : -score });
  }
  nodes.sort((a, b) => b.sensitivity - a.sensitivity);

  // Keep the most sensitive nodes in float: the shortest prefix of the ranking that meets the target,
  // found by bisection (the score grows, near enough, with every node kept in float).
  const prefixes = new Map<number, { model: M; score: number }>([[0, full]]);
  const prefix = async (k: number): Promise<{ model: M; score: number }> => {
    let hit = prefixes.get(k);
    if (hit === undefined) prefixes.set(k, (hit = await evaluate(nodes.slice(0, k).map((n) => n.node))));
    return hit;
  };
  let lo = 0;
  let hi = nodes.length;
  if ((await prefix(hi)).score < target.minScore) {
    const all = await prefix(hi);
    return finish(all.model, all.score, nodes.map((n) => n.node), nodes);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((await prefix(mid)).score >= target.minScore) hi = mid;
    else lo = mid;
  }
  let kept = nodes.slice(0, hi).map((n) => n.node);
  let best = await prefix(hi);

  // Prune: put back what the target does not need, least sensitive first.
  for (const node of [...kept].reverse()) {
    if (kept.length === 1) break;
    const trial = kept.filter((k) => k !== node);
    const r = await evaluate(trial);
    if (r.score >= target.minScore) {
      kept = trial;
      best = r;
    }
  }
  return finish(best.model, best.score, kept, nodes);
}
