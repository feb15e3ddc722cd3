/**
 * `@akb/cloud`: the cloud service `akb-cloud` as a library. `decode/` receives symbol frames, reassembles
 * them, decodes in worker-thread lanes and sends feedback; `control/` keeps the fleet registry, hosts the
 * source KB, turns intents into reward weights and answers requests on `akb/v1/cloud/req` (what a device
 * may ask for itself) and `akb/v1/cloud/ops/req` (every operation, for tools).
 */
export { CloudService, type CloudServiceOptions, type CloudModelOptions } from './control/service.js';
export { FleetRegistry, type FleetEntry } from './control/fleet.js';
export { KbService, staticKbStore, type KbServiceOptions, type KbStore } from './control/kb-service.js';
export { IntentBook, forwardIntent, type ForwardResult, type StoredIntent } from './control/intent.js';
export { DeviceCommands, type DeviceCommandsOptions, type DeviceRequester } from './control/commands.js';
export { DEVICE_OPS, splitOperations } from './control/operations.js';
export {
  ImageRow,
  ImagesRecentArgs,
  ImagesRecentPage,
  ImagesTilesArgs,
  ImagesTilesPage,
  MAX_IMAGES_PAGE,
  MAX_TILES_PAGE,
  imageRow,
  recentPage,
  tilesPage,
} from './control/images-ops.js';
export { DeviceScope, type ScopeCounters, type ScopedTopic } from './scope.js';
export { Partition, MAX_PARTITIONS, rendezvousOwner, rendezvousScore } from './partition.js';
export { CloudDecoder, type CloudDecoderOptions } from './decode/decoder.js';
export { DEFAULT_IMAGE_LIMITS, imageCost, imageLimits, type ImageLimits, type MetaRefusal } from './decode/limits.js';
export type { DecoderStats } from './decode/stats.js';
export type { FinishReason, ImageResult, ImageSummary, TileResult, TileStatus, ReferenceResolver } from './decode/images.js';
export { folderReferences } from './decode/references.js';
export { DEFAULT_WEIGHTS, rewardFor, weightsForIntent, type IntentWeights, type RewardWeights } from './decode/reward.js';
export { estimateSnr, clampDb, type SnrEstimate } from './decode/snr.js';
export { TileDecoder, type TileDecoderOptions, type TileDecoderStats, type TileJob } from './decode/tile-decoder.js';
export { threadLane, inlineLane, type DecodeLane } from './decode/lanes.js';
export { BoundedSet } from './decode/bounded-set.js';
export { startDashboard, type Dashboard, type DashboardOptions, type DashboardStats, type DeviceView, type LiveMessage, type MetricsSource } from './dashboard/index.js';
export * from './telemetry/index.js';
