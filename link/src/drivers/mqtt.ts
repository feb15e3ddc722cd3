/**
 * The `mqtt` link: fragments go out on `topics.linkTx(device)` for whatever serves that topic (a radio
 * or SDR gateway, or the channel emulator service); feedback comes back on `topics.feedback(device)`.
 * The MTU, dtypes and rate are the gateway's, so the caller states them (defaults: the edge
 * configuration's MTU of 1024 bytes, every dtype, rate unknown).
 */
import { topics, SYMBOL_DTYPES, type SymbolDtype } from '@akb/protocol';
import type { MqttTransport, QoS } from '@akb/protocol/mqtt';
import { LinkBase, type LinkCapabilities, type LinkRate } from './driver.js';

export interface MqttLinkOptions {
  /** The edge's broker connection; the link does not close it. */
  client: MqttTransport;
  deviceId: string;
  /** Largest fragment the gateway takes, bytes (default 1024). */
  mtu?: number;
  /** Dtypes the gateway carries, preferred first (default all). */
  dtypes?: readonly SymbolDtype[];
  rate?: LinkRate;
  /** QoS of the frames (default 0: a late retransmission is worth less than the next frame). */
  qos?: QoS;
  /** Subscribe to the device's feedback topic (default true). */
  feedback?: boolean;
}

export class MqttLink extends LinkBase {
  readonly name = 'mqtt';
  readonly capabilities: LinkCapabilities;
  private closed = false;

  private constructor(private readonly options: MqttLinkOptions) {
    super();
    this.capabilities = {
      mtu: options.mtu ?? 1024,
      dtypes: options.dtypes ?? SYMBOL_DTYPES,
      ...(options.rate ? { rate: options.rate } : {}),
    };
  }

  static async open(options: MqttLinkOptions): Promise<MqttLink> {
    const link = new MqttLink(options);
    topics.linkTx(options.deviceId); // checks the device id now rather than at the first send
    if (options.feedback ?? true) await link.listenForFeedback(options.client, options.deviceId);
    return link;
  }

  async send(fragments: readonly Uint8Array[]): Promise<void> {
    this.check(fragments);
    const topic = topics.linkTx(this.options.deviceId);
    for (const f of fragments) {
      try {
        await this.options.client.publish(topic, f, { qos: this.options.qos ?? 0 });
      } catch (e) {
        this.counters.sendFailures++;
        throw e;
      }
      this.counters.fragmentsSent++;
      this.counters.bytesSent += f.length;
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- part of the async driver interface
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
  }
}
