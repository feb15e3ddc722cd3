export { EdgeAgent, EDGE_VERSION, type EdgeAgentOptions } from './agent.js';
export type { BackendName, InferenceBackend, InferenceSession, Tensor } from './inference/backend.js';
export { BackendRegistry, defaultBackends } from './inference/registry.js';
export { ortNodeBackend } from './inference/ort-node.js';
export { ortWebBackend } from './inference/ort-web.js';
export { loadModel, type LoadedModel } from './inference/model-store.js';
