/**
 * Decode lanes: where a decoder session runs. onnxruntime-node's `session.run` holds the JavaScript thread
 * for the whole inference (measured: a 16-tile batch blocks the event loop ~8 ms, and two sessions in one
 * thread decode no faster than one), so the cloud runs each session in a worker thread of its own:
 * n lanes decode n batches at once while the main thread keeps receiving frames and publishing feedback.
 *
 * - `threadLane`: onnxruntime-node (CPU) in a worker thread. The worker is a few lines of plain JavaScript
 *   given as source (`eval`), so it runs the same from sources (vitest, tsx) and from dist/.
 * - `inlineLane`: any InferenceSession from the edge's BackendRegistry, on the main thread (WASM, or a
 *   backend that cannot run in a worker).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AkbError } from '@akb/protocol';
import type { InferenceSession, Tensor } from '@akb/edge';

export interface DecodeLane {
  readonly kind: 'thread' | 'inline';
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs one batch; the feeds' buffers may be transferred (do not reuse them). */
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  close(): Promise<void>;
}

export interface ThreadLaneOptions {
  /** onnxruntime intra-op threads of this lane (default 1: parallelism comes from lanes). */
  intraOpThreads?: number;
}

// The worker: one session, one batch at a time; outputs are copied so their buffers can be transferred.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const text = (e) => String((e && e.message) || e).slice(0, 500);
ort.InferenceSession.create(workerData.model, {
  executionProviders: ['cpu'], graphOptimizationLevel: 'all',
  intraOpNumThreads: workerData.threads, interOpNumThreads: 1,
}).then((session) => {
  parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
  parentPort.on('message', (m) => {
    const feeds = {};
    for (const k of Object.keys(m.feeds)) feeds[k] = new ort.Tensor('float32', m.feeds[k].data, m.feeds[k].dims);
    session.run(feeds).then((out) => {
      const outputs = {};
      const transfer = [];
      for (const k of Object.keys(out)) {
        if (out[k].type !== 'float32') throw new Error('output ' + k + ' is ' + out[k].type + '; akb models output float32');
        const data = new Float32Array(out[k].data);
        outputs[k] = { data, dims: Array.from(out[k].dims) };
        transfer.push(data.buffer);
      }
      parentPort.postMessage({ type: 'result', id: m.id, outputs }, transfer);
    }).catch((e) => parentPort.postMessage({ type: 'error', id: m.id, message: text(e) }));
  });
}, (e) => parentPort.postMessage({ type: 'failed', message: text(e) }));
`;

type WorkerReply =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, Tensor> }
  | { type: 'error'; id: number; message: string };

interface Waiting {
  resolve: (outputs: Record<string, Tensor>) => void;
  reject: (e: Error) => void;
}

/** A lane running onnxruntime-node (CPU) in a worker thread; resolves once its session is loaded. */
export async function threadLane(model: Uint8Array, options: ThreadLaneOptions = {}): Promise<DecodeLane> {
  let ortPath: string;
  try {
    ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  } catch (e) {
    throw new AkbError('BACKEND_UNAVAILABLE', 'onnxruntime-node is not installed for the cloud decoder', { cause: e, hint: 'use inline lanes (lane: "inline")' });
  }
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ortPath, model: Uint8Array.from(model), threads: options.intraOpThreads ?? 1 },
  });
  const waiting = new Map<number, Waiting>();
  let dead: Error | undefined;
  let seq = 0;
  const die = (e: Error): void => {
    dead ??= e;
    for (const w of waiting.values()) w.reject(dead);
    waiting.clear();
  };
  const ready = new Promise<{ inputNames: string[]; outputNames: string[] }>((resolve, reject) => {
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'failed') reject(new AkbError('NO_BACKEND', `the decoder does not load in onnxruntime-node: ${m.message}`));
      else {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.type === 'result') w?.resolve(m.outputs);
        else w?.reject(new AkbError('DECODE_FAILED', `decoder run failed: ${m.message}`));
      }
    });
    const fail = (e: Error): void => {
      const err = new AkbError('DECODE_LANE_FAILED', `decode lane stopped: ${e.message}`, { cause: e });
      die(err);
      reject(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`worker exited with code ${code}`)));
  });
  let names: { inputNames: string[]; outputNames: string[] };
  try {
    names = await ready;
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  return {
    kind: 'thread',
    inputNames: names.inputNames,
    outputNames: names.outputNames,
    run(feeds) {
      if (dead) return Promise.reject(dead);
      const id = ++seq;
      const transfer = Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer);
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, feeds }, transfer);
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
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: (feeds) => session.run(feeds),
    close: () => session.release(),
  };
}
