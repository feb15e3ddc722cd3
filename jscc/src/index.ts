/**
 * `@akb/jscc`: what every akb runtime and tool shares about the JSCC and policy models. Model cards, model
 * sets and the model store; one inference interface with a registry of backends (onnxruntime-node,
 * onnxruntime-web, CUDA/TensorRT providers where present); the source KB; image decoding (libjpeg-exact
 * colour), encoding and tiling; metrics (PSNR, SSIM); and, re-exported from `@akb/protocol`, the seeded
 * RNG and the AWGN convention the models were trained with.
 */
export type { BackendName, InferenceBackend, InferenceSession, Tensor } from './inference/backend.js';
export { BackendRegistry, defaultBackends } from './inference/registry.js';
export { ortNodeBackend } from './inference/ort-node.js';
export { ortWebBackend } from './inference/ort-web.js';
export { ortThreadOptions, type OrtThreadOptions } from './inference/ort-threads.js';
export { loadModel, type LoadedModel } from './inference/model-store.js';
export * from './image/index.js';
export * from './metrics/index.js';
export { KB_MAX_ENTRIES, loadSourceKb, type SourceKb } from './models/source-kb.js';
export { loadModelSet, type ModelSet, type ModelSetKind, type RateAction, type ChannelKbTable } from './models/model-set.js';
export {
  addAwgn,
  averagePower,
  complexGaussian,
  deriveSeed,
  gaussian,
  measureSnrDb,
  noiseVariance,
  seededRandom,
  toDb,
  unitPowerSymbols,
  type Complex,
  type RandomSource,
} from '@akb/protocol';
