/**
 * The channel emulator service: it stands where a radio would, between an edge's `link/tx` and the
 * cloud's `link/rx`. For each fragment of one device (or of every device, `filters.allLinkTx`) it:
 * decodes the frame; drops it whole by Gilbert–Elliott; applies the device's fading and AWGN at the SNR
 * its trace gives now; holds it for latency ± jitter; re-encodes what arrived as a float32 frame and
 * publishes it on `topics.linkRx(device)`. Each device has its own Channel (its own loss chain, fading
 * and, for mobility, its own walk), made on its first fragment.
 *
 * Order: a device's fragments leave in the order they came unless jitter gives a later one a shorter
 * delay (as netem does); `keepOrder` holds them back instead. Malformed messages (not a frame, truncated,
 * bad CRC, …) are counted by error code and dropped; nothing a sender publishes stops the service.
 * With a SigmfRecorder every relayed fragment's received samples are recorded with an annotation.
 */
import { BYTES_PER_VALUE, filters, parseDeviceTopic, topics } from '@akb/protocol';
import { Fanout, type AkbMessage, type MqttTransport, type QoS } from '@akb/protocol/mqtt';
import { DelayLine, type Channel, type Scheduler } from '../channel/index.js';
import { relayFragment, type RelayOutcome, type RelayedFragment } from './relay.js';
import type { SigmfRecorder } from './sigmf.js';

export interface ChannelEmulatorOptions {
  client: MqttTransport;
  /** Serve one device; every device when absent. */
  device?: string;
  /** The channel of a device, made on its first fragment. */
  channelFor: (device: string) => Channel;
  /** QoS of the subscription and of the relayed frames (default 0, as the protocol's frames). */
  qos?: QoS;
  keepOrder?: boolean;
  recorder?: SigmfRecorder;
  /** Clock in ms for SNR traces and fading (default performance.now). */
  now?: () => number;
  scheduler?: Scheduler;
  /** Devices whose channel state is kept; one more forgets the oldest (default 10 000). */
  maxDevices?: number;
}

export interface EmulatorStats {
  /** Messages that came in on link/tx. */
  received: number;
  relayed: number;
  /** Dropped by the loss model. */
  lost: number;
  malformed: number;
  /** Malformed messages by error code (a ProtocolErrorCode such as CRC_MISMATCH, or BAD_TOPIC). */
  malformedByCode: Record<string, number>;
  published: number;
  publishFailures: number;
  /** Complex symbols of relayed and lost fragments, and of relayed ones. */
  symbolsIn: number;
  symbolsOut: number;
  /** Fragments (annotations) and samples recorded. */
  recorded: number;
  recordedSamples: number;
  recordFailures: number;
  /** Fragments waiting out their delay. */
  pending: number;
  devices: number;
}

export class ChannelEmulator {
  /** Every fragment's fate; listeners are isolated from each other and from the service. */
  readonly outcomes = new Fanout<RelayOutcome>();
  /** Failures that are not a sender's fault (publish, recording). */
  readonly errors = new Fanout<Error>();
  private readonly channels = new Map<string, Channel>();
  private readonly line: DelayLine;
  private readonly inflight = new Set<Promise<void>>();
  private readonly filter: string;
  private readonly counters: Omit<EmulatorStats, 'pending' | 'devices' | 'malformedByCode'> = {
    received: 0, relayed: 0, lost: 0, malformed: 0, published: 0, publishFailures: 0,
    symbolsIn: 0, symbolsOut: 0, recorded: 0, recordedSamples: 0, recordFailures: 0,
  };
  private readonly byCode: Record<string, number> = {};
  private stopRouting: (() => void) | undefined;
  private stopped = false;
  /** The SNR `setSnr` without a device fixed: every channel made from now on starts pinned to it. */
  private defaultPinDb: number | undefined;

  private constructor(private readonly options: ChannelEmulatorOptions) {
    this.filter = options.device === undefined ? filters.allLinkTx : topics.linkTx(options.device);
    this.line = new DelayLine({ keepOrder: options.keepOrder, scheduler: options.scheduler, onError: (e) => this.fail(e) });
  }

  /** Subscribes and starts relaying. */
  static async start(options: ChannelEmulatorOptions): Promise<ChannelEmulator> {
    const emulator = new ChannelEmulator(options);
    emulator.stopRouting = options.client.onMessage(emulator.filter, (m) => emulator.onMessage(m));
    await options.client.subscribe(emulator.filter, { qos: options.qos ?? 0 });
    return emulator;
  }

  get stats(): EmulatorStats {
    return { ...this.counters, malformedByCode: { ...this.byCode }, pending: this.line.size, devices: this.channels.size };
  }

  /** One line of counters, e.g. for the CLI at exit. */
  summary(): string {
    const s = this.stats;
    const pct = (n: number): string => `${((100 * n) / Math.max(1, s.received)).toFixed(1)}%`;
    const codes = Object.entries(s.malformedByCode).map(([c, n]) => `${c} ${n}`).join(', ');
    const parts = [
      `${s.received} fragments in`,
      `${s.relayed} relayed`,
      `${s.lost} lost (${pct(s.lost)})`,
      `${s.malformed} malformed${codes ? ` (${codes})` : ''}`,
      `${s.devices} device${s.devices === 1 ? '' : 's'}`,
    ];
    if (s.publishFailures > 0) parts.push(`${s.publishFailures} publish failures`);
    if (this.options.recorder) parts.push(`${s.recorded} recorded (${s.recordedSamples} samples${s.recordFailures ? `, ${s.recordFailures} failed` : ''})`);
    return parts.join(', ');
  }

  /** Stops listening, sends what is still delayed, waits for the publishes, closes the recording. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopRouting?.();
    await this.options.client.unsubscribe(this.filter).catch((e: unknown) => this.fail(e));
    this.line.flush();
    await Promise.allSettled([...this.inflight]);
    this.options.recorder?.close();
  }

  /** The device this emulator serves only, if one. */
  get device(): string | undefined {
    return this.options.device;
  }

  /**
   * Pins the SNR (channel control, `channel.set`): of one device's channel (made now if it has sent
   * nothing yet), or without `device` of every channel and of those made later. Fading and loss stay.
   * Returns the devices whose channel changed.
   */
  setSnr(snrDb: number, device?: string): string[] {
    if (device !== undefined) {
      this.channelOf(device).pinSnr(snrDb);
      return [device];
    }
    this.defaultPinDb = snrDb;
    for (const channel of this.channels.values()) channel.pinSnr(snrDb);
    return [...this.channels.keys()];
  }

  /**
   * The SNR each channel applies now (`channel.get`): undefined before a trace-following channel's first
   * fragment. `limit` bounds the devices listed.
   */
  snrState(device?: string, limit = 1000): { defaultSnrDb: number | undefined; devices: { device: string; snrDb: number | undefined; pinned: boolean }[] } {
    const now = (this.options.now ?? (() => performance.now()))();
    const entries = device === undefined ? [...this.channels.entries()].slice(0, limit) : [[device, this.channels.get(device)] as const];
    return {
      defaultSnrDb: this.defaultPinDb,
      devices: entries.map(([d, c]) => ({
        device: d,
        snrDb: c === undefined ? this.defaultPinDb : c.snrDbAt(now),
        pinned: c === undefined ? this.defaultPinDb !== undefined : c.pinnedSnrDb !== undefined,
      })),
    };
  }

  private channelOf(device: string): Channel {
    let channel = this.channels.get(device);
    if (channel === undefined) {
      channel = this.options.channelFor(device);
      if (this.defaultPinDb !== undefined) channel.pinSnr(this.defaultPinDb);
      this.channels.set(device, channel);
      if (this.channels.size > (this.options.maxDevices ?? 10_000)) this.channels.delete(this.channels.keys().next().value as string);
    }
    return channel;
  }

  private onMessage(m: AkbMessage): void {
    if (this.stopped) return;
    this.counters.received++;
    let device: string;
    try {
      device = parseDeviceTopic(m.topic).device;
    } catch {
      this.countMalformed('BAD_TOPIC');
      return;
    }
    const now = (this.options.now ?? (() => performance.now()))();
    const outcome = relayFragment(this.channelOf(device), device, m.payload, now);
    if (outcome.kind === 'malformed') {
      this.countMalformed(outcome.error.code);
    } else if (outcome.kind === 'lost') {
      this.counters.lost++;
      this.counters.symbolsIn += outcome.header.payloadLength / (2 * BYTES_PER_VALUE[outcome.header.dtype]);
    } else {
      this.counters.relayed++;
      const symbols = outcome.values.length / 2;
      this.counters.symbolsIn += symbols;
      this.counters.symbolsOut += symbols;
      this.record(outcome);
      this.line.push(device, outcome.delayMs, () => this.publish(outcome));
    }
    this.outcomes.emit(outcome);
  }

  private countMalformed(code: string): void {
    this.counters.malformed++;
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
  }

  private record(f: RelayedFragment): void {
    const recorder = this.options.recorder;
    if (recorder === undefined) return;
    const h = f.header;
    try {
      recorder.append(f.values, {
        label: `${f.device} frame ${h.frameId} fragment ${h.fragmentIndex}/${h.fragmentCount}`,
        comment: {
          device: f.device, deviceId: h.deviceId, sessionId: h.sessionId, frameId: h.frameId,
          fragmentIndex: h.fragmentIndex, fragmentCount: h.fragmentCount, symbolOffset: h.symbolOffset,
          totalSymbols: h.totalSymbols, sentDtype: h.dtype, snrDb: f.side.snrDb, effectiveSnrDb: f.side.effectiveSnrDb,
          gainDb: f.side.gainDb, gain: f.side.gain, equalized: f.side.equalized, delayMs: f.delayMs,
        },
      });
      this.counters.recorded++;
      this.counters.recordedSamples += f.values.length / 2;
    } catch (e) {
      this.counters.recordFailures++;
      this.fail(e);
    }
  }

  private publish(f: RelayedFragment): void {
    const p = this.options.client
      .publish(topics.linkRx(f.device), f.bytes, { qos: this.options.qos ?? 0 })
      .then(
        () => void this.counters.published++,
        (e: unknown) => {
          this.counters.publishFailures++;
          this.fail(e);
        },
      )
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private fail(e: unknown): void {
    this.errors.emit(e instanceof Error ? e : new Error(String(e)));
  }
}
