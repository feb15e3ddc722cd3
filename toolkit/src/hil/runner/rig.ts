/**
 * A rig is one (variant, channel, target) under test: it sends an image and hands back what the edge
 * reported and what the cloud decoded. The local rig (local.ts) runs the edge in this process; the device
 * rig (device.ts) asks a device over MQTT. Both decode with a cloud decoder of their own and change the
 * SNR through the emulator's channel control (channel.set), so the sweep never restarts a piece per point.
 */
import { CHANNEL_SET_OP, topics } from '@akb/protocol';
import { RpcClient, type MqttTlsOptions, type MqttTransport } from '@akb/protocol/mqtt';
import type { ImageResult } from '@akb/cloud';
import type { PlanImage } from '../images.js';
import type { StageTimes } from '../results.js';
import type { LinkCounters } from './links/index.js';

/**
 * The run's broker as every connection of the run takes it: its URL and, for mqtts://, the TLS material
 * (`akb hil run --ca/--cert/--key` or the plan's `tls`), spread into connectMqtt/connectDevice.
 */
export interface HilBroker {
  url: string;
  tls?: MqttTlsOptions;
}

/** What one image sent through a rig gave. */
export interface RigSend {
  channelUses: number;
  tiles: number;
  /** Tile count per action id. */
  actions: Record<string, number>;
  /** Stages measured on the edge and the cloud; `total` is end to end. */
  latencyMs: StageTimes;
  /** undefined when the cloud gave no result in time. */
  result: ImageResult | undefined;
  /** ms since the epoch when the image was handed to the edge. */
  sentAt: number;
  /** After the result: how long the rig waited for the image's feedback to reach a learned policy, ms. */
  feedbackWaitMs?: number;
}

export interface Rig {
  readonly device: string;
  setSnr(snrDb: number): Promise<void>;
  send(image: PlanImage): Promise<RigSend>;
  /** What the link saw so far (cumulative), for a local rig's sdr-udp or serial link path. */
  linkCounters?(): LinkCounters;
  close(): Promise<void>;
}

/** Results of a cloud decoder by a key (e.g. session/image), with waiters; results nobody waits for are bounded. */
export class ResultBox {
  private readonly results = new Map<string, ImageResult>();
  private readonly waiters = new Map<string, (r: ImageResult) => void>();

  put(k: string, r: ImageResult): void {
    const w = this.waiters.get(k);
    if (w) {
      this.waiters.delete(k);
      w(r);
      return;
    }
    this.results.set(k, r);
    if (this.results.size > 64) this.results.delete(this.results.keys().next().value as string);
  }

  wait(k: string, timeoutMs: number): Promise<ImageResult | undefined> {
    const have = this.results.get(k);
    if (have) {
      this.results.delete(k);
      return Promise.resolve(have);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(k);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(k, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }
}

/** A tool's channel.set client (answers on link/ctl/res/{from}). */
export function channelSetter(client: MqttTransport, from: string, device: string | undefined): (snrDb: number) => Promise<void> {
  const rpc = new RpcClient(client, { requestTopic: topics.linkCtlReq(), replyTopic: topics.linkCtlRes(from), from });
  return async (snrDb) => {
    await rpc.request(CHANNEL_SET_OP, device === undefined ? { snrDb } : { device, snrDb }, { timeoutMs: 5000 });
  };
}

/** Decode time of the tiles the cloud decoded, ms. */
export function decodeMs(result: ImageResult | undefined): number | undefined {
  if (result === undefined) return undefined;
  let sum = 0;
  for (const t of result.tileResults) sum += t.decodeMs ?? 0;
  return sum;
}
