/**
 * The accuracy-driven search's last step: its candidates were scored on a subset of the images and SNRs,
 * so the chosen model is checked on all of them, keeping more nodes in float while it misses the target.
 */
import type { JsccEvaluator } from '../jscc/evaluate.js';
import { encodeModel } from '../onnx/io.js';
import type { QdqResult } from '../qdq/index.js';
import { createSession } from '../report/session.js';
import type { SensitivityResult } from './search.js';

/**
 * The search scored candidates on a subset: check the choice on every image and SNR, and while it misses
 * the allowed loss there, keep the next most sensitive node in float too.
 */
export async function verifyOnAll(
  evaluator: JsccEvaluator,
  allowedLossDb: number,
  chosen: QdqResult,
  found: SensitivityResult,
  build: (keep: readonly string[]) => QdqResult,
  optimization: 'all' | 'disabled',
): Promise<{ result: QdqResult; sensitivity: SensitivityResult }> {
  const lossOf = async (r: QdqResult): Promise<number> => {
    const session = await createSession(encodeModel(r.model), 'a candidate model', { optimization });
    try {
      return (await evaluator.evaluate(session)).maxLossDb;
    } finally {
      await session.release();
    }
  };
  let result = chosen;
  let kept = [...found.keptInFloat];
  let loss = await lossOf(result);
  let evaluations = found.evaluations + 1;
  const next = found.nodes.map((n) => n.node).filter((n) => !kept.includes(n));
  while (loss > allowedLossDb && next.length > 0) {
    kept = [...kept, next.shift()!];
    result = build(kept);
    loss = await lossOf(result);
    evaluations++;
  }
  // minScore becomes the user's target (the search aimed below it on its subset): what `met` is judged by
  return { result, sensitivity: { ...found, minScore: -allowedLossDb, keptInFloat: kept, finalScore: -loss, met: loss <= allowedLossDb, evaluations, verifiedOnAll: true } };
}
