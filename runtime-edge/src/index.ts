/**
 * `@akb/edge`: the device daemon `akb-edge` as a library: the agent (presence, commands), image sources,
 * the encoding pipeline, the channel KB and RL policy, and telemetry. Models, images and metrics come
 * from `@akb/jscc`; channels and link drivers from `@akb/link`; boards from `@akb/devices`.
 */
export { EdgeAgent, EDGE_VERSION, type EdgeAgentOptions, type EdgeAttachment } from './agent.js';
export { TileEncoder, type EncodeRequest, type EncodedTiles, type TileEncoderOptions } from './encode/encoder.js';
export * from './policy/index.js';
export * from './pipeline/index.js';
export * from './sources/index.js';
export * from './telemetry/index.js';
export { KbSync, type KbSyncOptions, type KbSyncStats, type SyncedKb } from './kb-sync/kb-sync.js';
