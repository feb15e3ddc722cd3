/** The edge's JSCC pipeline: tiles, actions, batch encoding, frames, feedback. */
export { EdgePipeline, type EdgePipelineOptions } from './pipeline.js';
export { TileBatch } from './batch.js';
export { FrameLedger, nowMicros, randomSessionId, type FrameDecision } from './frames.js';
export { CHUNK_GARBAGE_PER_FRAME_BYTE, GarbageGate, PIXEL_BYTES, SCRATCH_BYTES_PER_PIXEL } from './memory.js';
export { emptyCounters, type FeedbackEvent, type ImageReport, type PipelineCounters, type StageTimes } from './report.js';
export { modelVersions, startEdgeRuntime, type EdgeRuntime, type EdgeRuntimeOptions, type SourceSpec } from './runtime.js';
export { linkSection, openEdgeLink, type EdgeLinkSpec, type OpenLinkOptions, type OpenedLink } from './link-open.js';
