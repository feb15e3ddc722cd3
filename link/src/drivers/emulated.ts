/**
 * The `emulated` link: the channel runs in this process. Each fragment goes through a Channel (loss,
 * fading, AWGN, latency, see ../channel) and what arrives is handed, after its delay, to a callback (an
 * in-process receiver, with the channel's side information) or published on `topics.linkRx(device)`
 * for a receiver elsewhere (the cloud), exactly as the emulator service would.
 *
 * Feedback: with MQTT delivery the link listens on the device's feedback topic; an in-process receiver
 * hands its feedback back with `receiveFeedback`. On close, fragments still in their delay are
 * delivered at once.
 */
import { SYMBOL_DTYPES, topics, type FeedbackMessage, type SymbolDtype } from '@akb/protocol';
import type { MqttTransport, QoS } from '@akb/protocol/mqtt';
import { DelayLine, type Channel, type Scheduler } from '../channel/index.js';
import { relayFragment, type RelayOutcome, type RelayedFragment } from '../emulator/relay.js';
import { LinkBase, type LinkCapabilities, type LinkRate } from './driver.js';

export type EmulatedDelivery =
  | { kind: 'callback'; onReceive: (fragment: RelayedFragment) => unknown }
  | { kind: 'mqtt'; client: MqttTransport; qos?: QoS };

export interface EmulatedLinkOptions {
  deviceId: string;
  channel: Channel;
  deliver: EmulatedDelivery;
  /** Largest fragment, bytes (default 1024, as the edge configuration's MQTT link). */
  mtu?: number;
  /** Dtypes to accept, preferred first (default all: the emulator dequantizes whatever comes). */
  dtypes?: readonly SymbolDtype[];
  /** Nominal symbol rate to report (symbols/s); the link does not pace sends. */
  rate?: LinkRate;
  /** Deliver a device's fragments in the order sent even when jitter would reorder them. */
  keepOrder?: boolean;
  /** Clock (ms) for the channel's SNR trace and fading; default performance.now. */
  now?: () => number;
  scheduler?: Scheduler;
  /** Told of every fragment's fate (relayed, lost, malformed), e.g. for a test or a log. */
  onOutcome?: (outcome: RelayOutcome) => unknown;
}

export class EmulatedLink extends LinkBase {
  readonly name = 'emulated';
  readonly capabilities: LinkCapabilities;
  private readonly line: DelayLine;
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;

  private constructor(private readonly options: EmulatedLinkOptions) {
    super();
    this.capabilities = {
      mtu: options.mtu ?? 1024,
      dtypes: options.dtypes ?? SYMBOL_DTYPES,
      ...(options.rate ? { rate: options.rate } : {}),
    };
    this.line = new DelayLine({ keepOrder: options.keepOrder, scheduler: options.scheduler, onError: (e) => this.fail(e) });
  }

  static async open(options: EmulatedLinkOptions): Promise<EmulatedLink> {
    const link = new EmulatedLink(options);
    topics.linkRx(options.deviceId); // checks the device id now
    if (options.deliver.kind === 'mqtt') await link.listenForFeedback(options.deliver.client, options.deviceId);
    return link;
  }

  /** Fragments waiting out their delay. */
  get pending(): number {
    return this.line.size;
  }

  /** For an in-process receiver: hands its feedback to the link's listeners. */
  receiveFeedback(message: FeedbackMessage): void {
    this.emitFeedback(message);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- part of the async driver interface
  async send(fragments: readonly Uint8Array[]): Promise<void> {
    this.check(fragments);
    const now = this.options.now ?? (() => performance.now());
    for (const f of fragments) {
      const outcome = relayFragment(this.options.channel, this.options.deviceId, f, now());
      this.counters.fragmentsSent++;
      this.counters.bytesSent += f.length;
      this.tell(outcome);
      if (outcome.kind === 'relayed') this.line.push(this.options.deviceId, outcome.delayMs, () => this.deliver(outcome));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.line.flush();
    this.stopListening();
    await Promise.allSettled([...this.inflight]);
  }

  private tell(outcome: RelayOutcome): void {
    try {
      const r = this.options.onOutcome?.(outcome);
      if (r instanceof Promise) r.catch((e: unknown) => this.fail(e));
    } catch (e) {
      this.fail(e);
    }
  }

  private deliver(fragment: RelayedFragment): void {
    const d = this.options.deliver;
    if (d.kind === 'callback') {
      const r = d.onReceive(fragment);
      if (r instanceof Promise) r.catch((e: unknown) => this.fail(e));
      return;
    }
    const p = d.client
      .publish(topics.linkRx(this.options.deviceId), fragment.bytes, { qos: d.qos ?? 0 })
      .catch((e: unknown) => this.fail(e))
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }
}
