/**
 * Post-training methods applied to the float model before `quantizeQdq` (issue 16): each takes a
 * Model and returns a new one whose quantization loses less. Keep each method's exports together.
 */
// layer statistics, bias correction and adaptive rounding (task A)
export { collectLayerStats, type LayerStats, type LayerStatsOptions, type LayerMoments } from './layer-stats.js';
export { findTargets, prepareWorkingCopy, type LayerTarget, type LayerOp, type SkippedLayer } from './targets.js';
export { correctBias, expectedShift, type BiasCorrectionOptions, type BiasCorrectionResult, type BiasCorrectionLayer } from './bias-correction.js';
export { adaround, type AdaroundOptions, type AdaroundResult, type AdaroundLayer } from './adaround.js';
export { roundRow, type RowProblem, type RowResult } from './round-row.js';

// cross-layer equalization and bias absorption (task B)
export { biasAbsorptionTensors, equalizeCrossLayer, type CleOptions, type CleSummary, type ClePairSummary, type RangeSpread } from './cle.js';
export { channelMinima } from './channel-minima.js';
