export { EdgeAgent, EDGE_VERSION, type EdgeAgentOptions } from './agent.js';
export type { BackendName, InferenceBackend, InferenceSession, Tensor } from './inference/backend.js';
export { BackendRegistry, defaultBackends } from './inference/registry.js';
export { ortNodeBackend } from './inference/ort-node.js';
export { ortWebBackend } from './inference/ort-web.js';
export { loadModel, type LoadedModel } from './inference/model-store.js';
export { decodeImage, encodePng, MAX_PIXELS, type RgbImage } from './image/codec.js';
export { extractTile, placeTile, tileCount, tileGrid, type TileGrid } from './image/tiles.js';
export { mse, psnr } from './image/quality.js';
