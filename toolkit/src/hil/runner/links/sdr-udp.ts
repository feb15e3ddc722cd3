/**
 * The `sdr-udp` link path (plan `link: {driver: sdr-udp, channel: gnuradio | node}`): the edge's SdrUdpLink
 * sends each frame as an IQ burst in cf32 UDP datagrams, paced at `sampleRateHz`, to an IQ channel (GNU
 * Radio's channel_model in link/gnuradio/sdr_channel.py, or the IqRelay in this process), which adds noise
 * at the SNR that channel.set pins (and the frequency offset, and for GNU Radio the multipath taps); the
 * SdrUdpGateway finds the bursts, estimates their SNR and publishes the rebuilt frames on link/rx for the
 * cloud. The IQ path is the channel: the plan's channels are all AWGN without loss (plan.ts checks it).
 */
import { createSocket } from 'node:dgram';
import { ChannelControl, IqRelay, SdrUdpGateway, SdrUdpLink, type ChannelTarget } from '@akb/link';
import type { LinkPlan } from '../../plan.js';
import { GnuRadioChannel } from './flowgraph.js';
import type { LinkCounters, LinkPath, LinkPathOptions } from './types.js';

type SdrUdpPlan = Extract<LinkPlan, { driver: 'sdr-udp' }>;

/** GNU Radio 3.10's UDP source passed ~90k samples/s on a loaded 2-core machine and dropped the rest (link/gnuradio/README.md). */
export const GNURADIO_SAMPLE_RATE_HZ = 2e4;
export const NODE_SAMPLE_RATE_HZ = 1e6;
/** The SNR the IQ channel starts at, until the sweep's first channel.set. */
const START_SNR_DB = 10;

async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

export async function startSdrUdpPath(o: LinkPathOptions & { link: SdrUdpPlan }): Promise<LinkPath> {
  const l = o.link;
  const stops: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const gateway = await SdrUdpGateway.open({ port: 0, deviceId: o.device, client: await o.connect('sdr-gateway') });
    stops.push(() => gateway.close());
    const seen = { bursts: 0, snrSumDb: 0 };
    gateway.onBurst((b) => {
      seen.bursts++;
      seen.snrSumDb += b.snrDb;
    });
    let target: ChannelTarget;
    let inPort: number;
    if (l.channel === 'node') {
      const relay = await IqRelay.open({ outPort: gateway.port, snrDb: START_SNR_DB, freqOffset: l.freqOffset, seed: o.seed, device: o.device });
      stops.push(() => relay.close());
      target = relay;
      inPort = relay.port;
    } else {
      inPort = await freeUdpPort();
      const flowgraph = await GnuRadioChannel.start({
        inPort, outPort: gateway.port, snrDb: START_SNR_DB, freqOffset: l.freqOffset, seed: o.seed, device: o.device, ...(l.taps ? { taps: l.taps } : {}),
      });
      stops.push(() => flowgraph.stop());
      target = flowgraph;
    }
    const control = await ChannelControl.start({ client: await o.connect('channel'), emulator: target });
    stops.push(() => control.stop());
    const sampleRateHz = l.sampleRateHz ?? (l.channel === 'gnuradio' ? GNURADIO_SAMPLE_RATE_HZ : NODE_SAMPLE_RATE_HZ);
    const link = await SdrUdpLink.open({ port: inPort, sampleRateHz, client: o.edgeClient, deviceId: o.device });
    const counters = (): LinkCounters => {
      const s = gateway.stats;
      return { sdr: { bursts: seen.bursts, snrSumDb: seen.snrSumDb, datagrams: s.datagrams, missing: s.missing, headerFailures: s.headerFailures } };
    };
    return { link, counters, close };
  } catch (e) {
    await close();
    throw e;
  }
}
