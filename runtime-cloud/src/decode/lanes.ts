/**
 * Decode lanes: where a decoder session runs. onnxruntime-node's `session.run` holds the JavaScript thread
 * for the whole inference (measured: a 16-tile batch blocks the event loop ~8 ms, and two sessions in one
 * thread decode no faster than one), so the cloud runs each session in a worker thread of its own:
 * n lanes decode n batches at once while the main thread keeps receiving frames and publishing feedback.
 *
 * A lane takes a batch in compact form (the received latents back to back, a prior view per row) and
 * builds the model's inputs itself: in a thread lane that copying happens off the main thread, and a
 * prior table (the KB's priors, its global mean) crosses to the worker once, not once per tile.
 *
 * - `threadLane`: onnxruntime-node (CPU) in a worker thread (lane-worker.js, plain JavaScript, so it runs
 *   the same from the sources under vitest or tsx and from dist/).
 * - `inlineLane`: any InferenceSession from the edge's BackendRegistry, on the main thread (WASM, or a
 *   backend that cannot run in a worker).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AkbError } from '@akb/protocol';
import type { InferenceSession, Tensor } from '@akb/jscc';

export interface LaneBatch {
  readonly rows: number;
  /** Latent reals per row the model takes (rows are zero-padded to it). */
  readonly width: number;
  readonly tile: number;
  /** The rows' received latents back to back: row i is latent[offsets[i] .. offsets[i + 1]). */
  readonly latent: Float32Array;
  readonly offsets: Int32Array;
  /** Per row, a 3 x tile x tile view of the prior; undefined when the model takes none. */
  readonly priors: readonly Float32Array[] | undefined;
  /** [rows] values of the `snr_db` and `length` inputs, where the model has them. */
  readonly snrDb: Float32Array | undefined;
  readonly length: Float32Array | undefined;
  /** Name of the image output. */
  readonly output: string;
}

export interface DecodeLane {
  readonly kind: 'thread' | 'inline';
  /** Runs one batch; resolves with the output, rows x 3 x tile x tile. Its buffers may be transferred. */
  run(batch: LaneBatch): Promise<Float32Array>;
  close(): Promise<void>;
}

/** The model inputs of a batch (what the worker thread builds too; keep the two in step). */
export function feedsOf(b: LaneBatch): Record<string, Tensor> {
  const latent = new Float32Array(b.rows * b.width);
  for (let i = 0; i < b.rows; i++) latent.set(b.latent.subarray(b.offsets[i], b.offsets[i + 1]), i * b.width);
  const feeds: Record<string, Tensor> = { latent: { data: latent, dims: [b.rows, b.width] } };
  if (b.priors !== undefined) {
    const t3 = 3 * b.tile * b.tile;
    const prior = new Float32Array(b.rows * t3);
    b.priors.forEach((p, i) => prior.set(p, i * t3));
    feeds.prior = { data: prior, dims: [b.rows, 3, b.tile, b.tile] };
  }
  if (b.snrDb !== undefined) feeds.snr_db = { data: b.snrDb, dims: [b.rows, 1] };
  if (b.length !== undefined) feeds.length = { data: b.length, dims: [b.rows, 1] };
  return feeds;
}

export interface ThreadLaneOptions {
  /** onnxruntime intra-op threads of this lane (default 1: parallelism comes from lanes). */
  intraOpThreads?: number;
}


type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; data: Float32Array }
  | { type: 'error'; id: number; message: string };

/** Prior tables a thread lane keeps in its worker; the least recently sent beyond this are dropped. */
const MAX_TABLES = 8;

/** A lane running onnxruntime-node (CPU) in a worker thread; resolves once its session is loaded. */
export async function threadLane(model: Uint8Array, options: ThreadLaneOptions = {}): Promise<DecodeLane> {
  let ortPath: string;
  try {
    ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  } catch (e) {
    throw new AkbError('BACKEND_UNAVAILABLE', 'onnxruntime-node is not installed for the cloud decoder', { cause: e, hint: 'use inline lanes (lane: "inline")' });
  }
  const worker = new Worker(new URL('./lane-worker.js', import.meta.url), { workerData: { ortPath, model: Uint8Array.from(model), threads: options.intraOpThreads ?? 1 } });
  const waiting = new Map<number, { resolve: (d: Float32Array) => void; reject: (e: Error) => void }>();
  const tables = new Map<ArrayBufferLike, number>();
  let dead: Error | undefined;
  let seq = 0;
  let tableSeq = 0;
  const die = (e: Error): void => {
    dead ??= e;
    for (const w of waiting.values()) w.reject(dead);
    waiting.clear();
  };
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') return resolve();
      if (m.type === 'failed') return reject(new AkbError('NO_BACKEND', `the decoder does not load in onnxruntime-node: ${m.message}`));
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.type === 'result') w?.resolve(m.data);
      else w?.reject(new AkbError('DECODE_FAILED', `decoder run failed: ${m.message}`));
    });
    const fail = (e: Error): void => {
      const err = new AkbError('DECODE_LANE_FAILED', `decode lane stopped: ${e.message}`, { cause: e });
      die(err);
      reject(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`worker exited with code ${code}`)));
  });
  try {
    await ready;
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  return {
    kind: 'thread',
    run(b) {
      if (dead) return Promise.reject(dead);
      const id = ++seq;
      const fresh: { id: number; data: Float32Array }[] = [];
      const drop: number[] = [];
      let priorIds: Int32Array | undefined;
      let priorOffsets: Int32Array | undefined;
      if (b.priors !== undefined) {
        priorIds = new Int32Array(b.rows);
        priorOffsets = new Int32Array(b.rows);
        b.priors.forEach((p, i) => {
          let tid = tables.get(p.buffer);
          if (tid === undefined) {
            tid = ++tableSeq;
            tables.set(p.buffer, tid);
            fresh.push({ id: tid, data: new Float32Array(p.buffer.slice(0)) });
            if (tables.size > MAX_TABLES) {
              const [oldest, oldId] = tables.entries().next().value!;
              tables.delete(oldest);
              drop.push(oldId);
            }
          }
          priorIds![i] = tid;
          priorOffsets![i] = p.byteOffset / 4;
        });
      }
      const message = { id, rows: b.rows, width: b.width, tile: b.tile, latent: b.latent, offsets: b.offsets, priorIds, priorOffsets, snrDb: b.snrDb, length: b.length, output: b.output, tables: fresh, drop };
      const transfer = [b.latent, b.offsets, priorIds, priorOffsets, b.snrDb, b.length, ...fresh.map((t) => t.data)].flatMap((a) => (a === undefined ? [] : [a.buffer as ArrayBuffer]));
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage(message, transfer);
      });
    },
    async close() {
      die(new AkbError('CLOSED', 'the decode lane is closed'));
      await worker.terminate();
    },
  };
}

/** A lane over a session on the main thread (e.g. from `defaultBackends().createSession`). */
export function inlineLane(session: InferenceSession): DecodeLane {
  return {
    kind: 'inline',
    async run(b) {
      const out = (await session.run(feedsOf(b)))[b.output];
      if (out === undefined) throw new AkbError('BAD_OUTPUT', `the model has no output ${b.output}`);
      return out.data;
    },
    close: () => session.release(),
  };
}
