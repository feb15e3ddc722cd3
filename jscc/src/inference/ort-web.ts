/**
 * onnxruntime-web's WASM backend under Node: one thread, the model passed as bytes. The fallback for
 * 32-bit ARM (a Pi with a 32-bit userland), about 3-4x slower than native.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AkbError } from '@akb/protocol';
import type { InferenceBackend } from './backend.js';
import { wrapSession } from './ort-node.js';

export function ortWebBackend(): InferenceBackend {
  return {
    name: 'onnxruntime-web-wasm',
    async createSession(model) {
      let ort: typeof import('onnxruntime-web');
      try {
        ort = await import('onnxruntime-web');
      } catch (e) {
        throw new AkbError('BACKEND_UNAVAILABLE', `onnxruntime-web does not load: ${(e as Error).message}`, { cause: e });
      }
      ort.env.wasm.numThreads = 1;
      // The .wasm files ship in the package's dist folder; point the loader there, not at a CDN.
      const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
      ort.env.wasm.wasmPaths = `${pathToFileURL(dist).href}/`;
      const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      return wrapSession('onnxruntime-web-wasm', ort, session);
    },
  };
}
