/**
 * Post-training methods applied to the float model before `quantizeQdq` (issue 16): each takes a
 * Model and returns a new one whose quantization loses less. Keep each method's exports together.
 */
// layer statistics, bias correction and adaptive rounding (task A)

// cross-layer equalization and bias absorption (task B)
export { biasAbsorptionTensors, equalizeCrossLayer, type CleOptions, type CleSummary, type ClePairSummary, type RangeSpread } from './cle.js';
export { channelMinima } from './channel-minima.js';
