/** The channel KB and its policy: DQN prior, online correction, intents. */
export { ChannelPolicy, formatPolicyMode, parsePolicyMode, type ChannelPolicyOptions, type FeedbackOutcome, type PolicyMode, type TileDecisions } from './policy.js';
export { CorrectionTable, type CorrectionCell } from './correction.js';
export { allowedActions, constraintsFromIntent, parseIntentArgs, type IntentUpdate, type PolicyConstraints, type RewardWeights } from './intent.js';
export { LinkState, STATE_DIM, complexityBin, initialActionIndex, snrBinIndex, tileComplexity } from './state.js';
export { FRAGMENT_OVERHEAD_BYTES, linkUseCeiling, tileTimeMs, type LinkCeiling, type LinkTimeModel } from './link-ceiling.js';
