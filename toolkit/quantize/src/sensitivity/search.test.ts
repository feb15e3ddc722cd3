import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ZOO } from '../../../../test/quantize/images.js';
import { decodeModel, encodeModel } from '../onnx/io.js';
import type { QdqResult } from '../qdq/index.js';
import { outputSqnr } from '../report/output-sqnr.js';
import { toRows } from '../report/rows.js';
import { createSession } from '../report/session.js';
import { quantizeWeightsOnly } from '../weight-only/index.js';
import { searchSensitivity } from './search.js';

// The DQN policy (three Gemm layers) in weight-only int8, per tensor so the error is large enough to
// matter, scored by output SQNR on 64 fixed states.
const model = decodeModel(new Uint8Array(readFileSync(join(ZOO, 'akb-dqn-policy', 'model.onnx'))));
const states = Float32Array.from({ length: 64 * 11 }, (_, i) => Math.sin(i * 0.37) * (i % 11 < 2 ? 1 : 0.5) + (i % 11 === 3 ? 1 : 0));
const rows = toRows([{ state: new ort.Tensor('float32', states, [64, 11]) }]);
const build = (keep: readonly string[]): QdqResult => quantizeWeightsOnly(model, { perChannel: false, excludeNodes: [...keep] });

async function scorer(): Promise<(r: QdqResult) => Promise<number>> {
  const floatSession = await createSession(encodeModel(model), 'float policy');
  return async (r) => (await outputSqnr(floatSession, await createSession(encodeModel(r.model), 'candidate'), rows)).overall;
}

describe('searchSensitivity', () => {
  it('keeps the fewest nodes in float that reach the target, as an exhaustive search over subsets finds', async () => {
    const score = await scorer();
    const full = build([]);
    const nodes = full.quantizedNodes;
    expect(nodes).toHaveLength(3);
    const subsets = [[], ...nodes.map((n) => [n]), ...nodes.flatMap((a, i) => nodes.slice(i + 1).map((b) => [a, b]))];
    const scores = await Promise.all(subsets.map(async (s) => ({ s, score: await score(build(s)) })));
    // A target between the best single node and the best pair: one node is not enough, two are.
    const bestSingle = Math.max(...scores.filter((x) => x.s.length === 1).map((x) => x.score));
    const bestPair = Math.max(...scores.filter((x) => x.s.length === 2).map((x) => x.score));
    expect(bestPair).toBeGreaterThan(bestSingle);
    const target = (bestSingle + bestPair) / 2;
    const { result, model: chosen } = await searchSensitivity({ candidates: nodes, build, score, target: { metric: 'sqnr', minScore: target } });
    expect(result.met).toBe(true);
    expect(result.keptInFloat).toHaveLength(2);
    expect(result.finalScore).toBeGreaterThanOrEqual(target);
    expect(chosen.skipped.map((s) => s.node).sort()).toEqual([...result.keptInFloat].sort());
    expect(result.nodes.map((n) => n.sensitivity)).toEqual([...result.nodes.map((n) => n.sensitivity)].sort((a, b) => b - a));
    expect(result.fullScore).toBeCloseTo(scores[0]!.score, 9);
  });

  it('keeps nothing in float when the full model already meets the target, and says so when nothing can', async () => {
    const score = await scorer();
    const nodes = build([]).quantizedNodes;
    const easy = await searchSensitivity({ candidates: nodes, build, score, target: { metric: 'sqnr', minScore: 10 } });
    expect(easy.result).toMatchObject({ met: true, keptInFloat: [], evaluations: 1 });
    // Exact output needs every node in float (SQNR Infinity).
    const exact = await searchSensitivity({ candidates: nodes, build, score, strategy: 'only-one', target: { metric: 'sqnr', minScore: Infinity } });
    expect(exact.result).toMatchObject({ met: true, finalScore: Infinity, strategy: 'only-one' });
    expect(exact.result.keptInFloat).toHaveLength(3);
    // A score that can never reach the target: every node tried in float, and met is false.
    const capped = async (r: QdqResult): Promise<number> => Math.min(20, await score(r));
    const impossible = await searchSensitivity({ candidates: nodes, build, score: capped, target: { metric: 'sqnr', minScore: 30 } });
    expect(impossible.result).toMatchObject({ met: false, finalScore: 20 });
    expect(impossible.result.keptInFloat).toHaveLength(3);
  });
});
