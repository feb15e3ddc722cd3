/**
 * Channels from a plain description, one per named stream (device), each with its own seeded random
 * sub-stream, so a device sees the same channel whatever the others do. The emulator service and the
 * CLI build their channels here.
 */
import { Channel, type ChannelSpec } from './channel.js';
import { mobilityTrace } from './mobility.js';
import { deriveSeed, seededRandom } from '@akb/protocol';
import { constantSnr, type SnrTrace } from './snr-trace.js';

export type SnrSource =
  | { kind: 'constant'; snrDb: number }
  /** A recorded trace; every device follows it from its own first fragment. */
  | { kind: 'trace'; trace: SnrTrace }
  /** A mobility profile (mobility.ts); every device walks on its own, with its own shadowing. */
  | { kind: 'mobility'; profile: string };

export interface ChannelConfig extends Omit<ChannelSpec, 'snr'> {
  snr: SnrSource;
}

/** A function giving each device a fresh Channel, seeded from `seed` and the device name. */
export function channelFactory(config: ChannelConfig, seed: number): (device: string) => Channel {
  // Fail on a bad profile or SNR now, not at the first fragment.
  snrTrace(config.snr, 'check', seed);
  const { snr, ...rest } = config;
  return (device) => new Channel({ ...rest, snr: snrTrace(snr, device, seed) }, seededRandom(deriveSeed(seed, device)));
}

function snrTrace(source: SnrSource, device: string, seed: number): SnrTrace {
  switch (source.kind) {
    case 'constant':
      return constantSnr(source.snrDb);
    case 'trace':
      return source.trace;
    case 'mobility':
      return mobilityTrace(source.profile, seededRandom(deriveSeed(seed, `${device}/mobility`)));
  }
}
