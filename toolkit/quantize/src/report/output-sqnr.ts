/** End-to-end SQNR of a quantized model's outputs against the float model's on the same rows. */
import type * as ort from 'onnxruntime-node';
import { sqnrDb } from '../numerics/sqnr.js';
import type { RowTable } from './rows.js';
import { runAll, type Outputs } from './session.js';
import type { OutputSqnr } from './types.js';

/**
 * SQNR per float output and over all of them (every value of every output), dB. `floatOutputs` may be
 * given when the float model's outputs on these rows are already known.
 */
export async function outputSqnr(
  floatSession: ort.InferenceSession,
  quantSession: ort.InferenceSession,
  rows: RowTable,
  floatOutputs?: Outputs,
): Promise<{ overall: number; outputs: OutputSqnr[] }> {
  const ref = floatOutputs ?? (await runAll(floatSession, rows, 'the float model'));
  const test = await runAll(quantSession, rows, 'the quantized model');
  let signal = 0;
  let noise = 0;
  const outputs: OutputSqnr[] = [];
  for (const [name, r] of ref) {
    const t = test.get(name);
    if (t === undefined || t.length !== r.length) continue;
    outputs.push({ name, sqnrDb: sqnrDb(r, t) });
    for (let i = 0; i < r.length; i++) {
      const d = r[i]! - t[i]!;
      signal += r[i]! * r[i]!;
      noise += d * d;
    }
  }
  const overall = noise === 0 ? Infinity : signal === 0 ? -Infinity : 10 * Math.log10(signal / noise);
  return { overall, outputs };
}
