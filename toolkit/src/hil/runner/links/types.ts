/**
 * A link path: how a local rig's edge reaches the cloud for one plan link (plan.ts `link`). Each driver has
 * its module with the same small interface (emulated.ts, sdr-udp.ts, serial.ts): it opens the edge's link
 * driver, whatever stands between it and the cloud's link/rx (the emulator, an IQ channel and the SDR
 * gateway, a modem simulator and radio gateway), and the channel control that serves channel.set for it.
 */
import type { LinkDriver, SigmfRecorder } from '@akb/link';
import type { AkbMqttClient, MqttTransport } from '@akb/protocol/mqtt';
import type { ChannelPlan, LinkPlan } from '../../plan.js';

export interface LinkPathOptions {
  link: LinkPlan;
  device: string;
  channel: ChannelPlan & { id: string };
  seed: number;
  /** The edge's own broker connection (feedback comes back on it). */
  edgeClient: MqttTransport;
  /** A fresh broker connection for a piece of the path, closed by the rig. */
  connect(role: string): Promise<AkbMqttClient>;
  recorder?: SigmfRecorder;
}

/** Cumulative counters of what the link saw; the sweep takes differences per SNR. */
export interface LinkCounters {
  sdr?: { bursts: number; snrSumDb: number; datagrams: number; missing: number; headerFailures: number };
  serial?: { packetsSent: number; packetsLost: number; packetsRetried: number; airtimeMs: number };
}

export interface LinkPath {
  /** The edge's link driver (the pipeline closes it). */
  readonly link: LinkDriver;
  counters(): LinkCounters;
  /** Stops what the path started (not the link: the pipeline closes it). */
  close(): Promise<void>;
}
