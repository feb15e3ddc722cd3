/**
 * onnxruntime-node: CPU on linux x64 and arm64 from npm; the CUDA and TensorRT execution providers only
 * where a runtime built with them is installed (npm's arm64 build has none; its x64 CUDA binaries are a
 * separate download that .npmrc skips). Imported lazily, so a machine without it can still use WASM.
 */
import { AkbError } from '@akb/protocol';
import type { BackendName, InferenceBackend, InferenceSession, Tensor } from './backend.js';
import { ortThreadOptions } from './ort-threads.js';

type Ort = typeof import('onnxruntime-node');

const PROVIDERS: Record<string, string> = {
  'onnxruntime-node-cpu': 'cpu',
  'onnxruntime-node-cuda': 'cuda',
  'onnxruntime-node-tensorrt': 'tensorrt',
};

export function ortNodeBackend(name: BackendName = 'onnxruntime-node-cpu', options: { intraOpThreads?: number } = {}): InferenceBackend {
  const provider = PROVIDERS[name];
  if (provider === undefined) throw new AkbError('BAD_BACKEND', `${name} is not an onnxruntime-node backend`);
  return {
    name,
    async createSession(model) {
      let ort: Ort;
      try {
        ort = await import('onnxruntime-node');
      } catch (e) {
        throw new AkbError('BACKEND_UNAVAILABLE', `onnxruntime-node does not load here (${process.platform}/${process.arch}): ${(e as Error).message}`, { cause: e });
      }
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        // No arena: it keeps the peak of every batch for the life of the process, which an edge with
        // 150 MB to spare cannot afford; the allocations it saves cost little next to the convolutions.
        enableCpuMemArena: false,
        // An explicit count wins; else AKB_ORT_THREADS (ort-threads.ts); else onnxruntime chooses.
        ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : ortThreadOptions()),
      });
      return wrapSession(name, ort, session);
    },
  };
}

/** Shared with the WASM backend: both runtimes have the same session API. */
export function wrapSession(
  name: BackendName,
  ort: Pick<Ort, 'Tensor'>,
  session: import('onnxruntime-common').InferenceSession,
): InferenceSession {
  return {
    backend: name,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const ortFeeds: Record<string, import('onnxruntime-common').Tensor> = {};
      for (const [key, t] of Object.entries(feeds)) ortFeeds[key] = new ort.Tensor('float32', t.data, t.dims);
      const out = await session.run(ortFeeds);
      const result: Record<string, Tensor> = {};
      for (const [key, t] of Object.entries(out)) {
        if (t.type !== 'float32') throw new AkbError('BAD_OUTPUT', `output ${key} is ${t.type}; akb models output float32`);
        result[key] = { data: t.data as Float32Array, dims: t.dims };
      }
      return result;
    },
    release: () => session.release(),
  };
}
