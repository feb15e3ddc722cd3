/** Channel models: seeded randomness, AWGN, fading, bursty loss, latency, SNR traces, and their composition. */
export { besselJ0, jakesCorrelation } from './bessel.js';
export { BlockFading, GaussMarkovFading, createFading, type FadingGains, type FadingProcess, type FadingSpec } from './fading.js';
export { GilbertElliott, checkGilbertElliott, parseGilbertElliott, type GilbertElliottParams } from './gilbert-elliott.js';
export { DelayLine, LatencyModel, realScheduler, type LatencySpec, type Scheduler } from './latency.js';
export {
  PiecewiseSnrTrace,
  SNR_DB_RANGE,
  constantSnr,
  loadSnrTrace,
  parseSnrCsv,
  parseSnrJson,
  type SnrPoint,
  type SnrTrace,
} from './snr-trace.js';
export {
  MOBILITY_PROFILES,
  MobilityTrace,
  dopplerHz,
  mobilityProfile,
  mobilityTrace,
  type MobilityProfile,
  type MobilityProfileName,
} from './mobility.js';
export { Channel, type BlockTime, type ChannelOutput, type ChannelSideInfo, type ChannelSpec } from './channel.js';
export { channelFactory, type ChannelConfig, type SnrSource } from './factory.js';
