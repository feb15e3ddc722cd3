/**
 * The `emulated` link path (plan `link: {driver: emulated}`, the default): the edge publishes its frames on
 * link/tx (MqttLink), a ChannelEmulator for this one device applies the plan's channel (fading,
 * Gilbert-Elliott loss, AWGN at the SNR channel.set pins) and publishes them on link/rx.
 */
import { ChannelControl, ChannelEmulator, MqttLink, channelFactory, type ChannelConfig, type LinkDriver } from '@akb/link';
import type { MqttTransport } from '@akb/protocol/mqtt';
import type { ChannelPlan } from '../../plan.js';
import type { LinkPath, LinkPathOptions } from './types.js';

/** The emulator's channel for a plan channel; the SNR starts at 10 dB and is pinned by channel.set. */
export function channelConfig(c: ChannelPlan): ChannelConfig {
  const fading =
    c.kind === 'rayleigh' ? { kind: 'rayleigh' as const }
    : c.kind === 'rician' ? { kind: 'rician' as const, kFactor: c.kFactor ?? 0 }
    : c.kind === 'gauss-markov' ? { kind: 'gauss-markov' as const, dopplerHz: c.dopplerHz ?? 1, symbolRateHz: c.symbolRateHz }
    : { kind: 'none' as const };
  return { snr: { kind: 'constant', snrDb: 10 }, fading, ...(c.loss ? { loss: c.loss } : {}) };
}

/** A ChannelEmulator (link/tx → link/rx of `o.device`) with its channel control, on one connection. */
export async function startEmulator(o: LinkPathOptions, client: MqttTransport): Promise<{ close(): Promise<void> }> {
  const emulator = await ChannelEmulator.start({
    client,
    device: o.device,
    keepOrder: true,
    // Random draws keyed by the channel's id, not the (per-process) device id: every variant meets the same
    // fading and noise sequence on a channel, run after run (common random numbers for a fair comparison).
    channelFor: (() => {
      const make = channelFactory(channelConfig(o.channel), o.seed);
      return () => make(o.channel.id);
    })(),
    ...(o.recorder ? { recorder: o.recorder } : {}),
  });
  let control: ChannelControl;
  try {
    control = await ChannelControl.start({ client, emulator });
  } catch (e) {
    await emulator.stop();
    throw e;
  }
  return {
    close: async () => {
      await control.stop().catch(() => undefined);
      await emulator.stop().catch(() => undefined);
    },
  };
}

export async function startEmulatedPath(o: LinkPathOptions): Promise<LinkPath> {
  const emulator = await startEmulator(o, await o.connect('channel'));
  let link: LinkDriver;
  try {
    link = await MqttLink.open({ client: o.edgeClient, deviceId: o.device, mtu: 1024 });
  } catch (e) {
    await emulator.close();
    throw e;
  }
  return { link, counters: () => ({}), close: () => emulator.close() };
}
