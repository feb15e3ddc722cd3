/** SDR over UDP: the IQ burst format, modulator, synchronizer, UDP datagrams, the gateway and SigMF checks. */
export * from './format.js';
export { modulateFrame } from './modulator.js';
export { preambleMetric } from './demod.js';
export { Synchronizer, type ReceivedBurst, type SynchronizerOptions, type SynchronizerStats } from './synchronizer.js';
