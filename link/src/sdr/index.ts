/** SDR over UDP: the IQ burst format, modulator, synchronizer, UDP datagrams, the gateway and SigMF checks. */
export * from './format.js';
export { modulateFrame } from './modulator.js';
export { preambleMetric } from './demod.js';
export { MAX_CHANNEL_TAPS } from './multipath.js';
export { Synchronizer, type ReceivedBurst, type SynchronizerOptions, type SynchronizerStats } from './synchronizer.js';
export { Depacketizer, packetize, samplesPerDatagram, type DatagramOptions, type DepacketizerOptions, type DepacketizerStats, type UdpHeader } from './datagrams.js';
export { SdrUdpGateway, type SdrAlarm, type SdrAlarmKind, type SdrGatewayOptions, type SdrGatewayStats } from './gateway.js';
export { checkSigmfMeta, sigmfSampleBytes } from './sigmf-check.js';
