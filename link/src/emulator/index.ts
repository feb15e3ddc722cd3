/** The channel emulator service, its frame-level relay, the IQ relay for sdr-udp and its SigMF recorder. */
export { ChannelControl, CHANNEL_GET_MAX_DEVICES, type ChannelControlOptions, type ChannelTarget, type ChannelGetData, type ChannelSetData } from './control.js';
export { ChannelEmulator, type ChannelEmulatorOptions, type EmulatorStats } from './service.js';
export { frameKey, relayFragment, type LostFragment, type MalformedFragment, type RelayOutcome, type RelayedFragment } from './relay.js';
export {
  SIGMF_VERSION,
  SigmfRecorder,
  sigmfPaths,
  type SigmfAnnotationInput,
  type SigmfMeta,
  type SigmfRecorderOptions,
} from './sigmf.js';
export { IqRelay, type IqRelayOptions, type IqRelayStats } from './iq-relay.js';
