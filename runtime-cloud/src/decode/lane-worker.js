// @ts-check
/**
 * A decode lane's worker thread (see lanes.ts): one onnxruntime-node session, batches in order, prior
 * tables cached by id, the output copied out of onnxruntime's memory so that its buffer can be transferred.
 * Plain JavaScript so that the same file runs from the sources (vitest, tsx) and from dist/ (tsc copies it
 * there with allowJs); `feeds` builds the same inputs as `feedsOf` in lanes.ts: keep the two in step.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';

if (parentPort === null) throw new Error('lane-worker.js runs only as a worker thread');
const port = parentPort;
const ort = createRequire(import.meta.url)(workerData.ortPath);
/** @param {unknown} e */
const text = (e) => String((e && /** @type {Error} */ (e).message) || e).slice(0, 500);
/** @type {Map<number, Float32Array>} */
const tables = new Map();
/** @param {Float32Array} data @param {number[]} dims */
const f32 = (data, dims) => new ort.Tensor('float32', data, dims);

/** @param {any} m */
function feeds(m) {
  const latent = new Float32Array(m.rows * m.width);
  for (let i = 0; i < m.rows; i++) latent.set(m.latent.subarray(m.offsets[i], m.offsets[i + 1]), i * m.width);
  /** @type {Record<string, unknown>} */
  const out = { latent: f32(latent, [m.rows, m.width]) };
  if (m.priorIds) {
    const t3 = 3 * m.tile * m.tile;
    const prior = new Float32Array(m.rows * t3);
    for (let i = 0; i < m.rows; i++) {
      const table = tables.get(m.priorIds[i]);
      if (!table) throw new Error('prior table ' + m.priorIds[i] + ' is unknown to the worker');
      prior.set(table.subarray(m.priorOffsets[i], m.priorOffsets[i] + t3), i * t3);
    }
    out.prior = f32(prior, [m.rows, 3, m.tile, m.tile]);
  }
  if (m.snrDb) out.snr_db = f32(m.snrDb, [m.rows, 1]);
  if (m.length) out.length = f32(m.length, [m.rows, 1]);
  return out;
}

ort.InferenceSession.create(workerData.model, {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: workerData.threads,
  interOpNumThreads: 1,
}).then(
  /** @param {any} session */
  (session) => {
    port.postMessage({ type: 'ready' });
    port.on('message', (/** @type {any} */ m) => {
      for (const t of m.tables) tables.set(t.id, t.data);
      for (const id of m.drop) tables.delete(id);
      let input;
      try {
        input = feeds(m);
      } catch (e) {
        port.postMessage({ type: 'error', id: m.id, message: text(e) });
        return;
      }
      session
        .run(input)
        .then((/** @type {any} */ out) => {
          const o = out[m.output];
          if (!o || o.type !== 'float32') throw new Error('the model has no float32 output ' + m.output);
          const data = new Float32Array(o.data);
          port.postMessage({ type: 'result', id: m.id, data }, [data.buffer]);
        })
        .catch((/** @type {unknown} */ e) => port.postMessage({ type: 'error', id: m.id, message: text(e) }));
    });
  },
  (/** @type {unknown} */ e) => port.postMessage({ type: 'failed', message: text(e) }),
);
