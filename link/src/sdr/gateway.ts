/**
 * The sdr-udp gateway (receive side): binds a UDP port where GNU Radio's UDP sink (or the edge directly)
 * sends cf32 samples, finds bursts, rebuilds v1 frames (float32) and publishes each on
 * `topics.linkRx(device)` for the cloud, as the emulator does. Echoes are equalized (`channelTaps`, see
 * synchronizer.ts and multipath.ts). The SNR it estimated for each frame goes to `onBurst` listeners (the
 * channel's `snrDb`, the symbols' `equalizedSnrDb`, the tap magnitudes) and `stats.lastSnrDb` (a side
 * channel: the frame on the wire is unchanged).
 *
 * Alarms (listeners of `onAlarm`, raised once and cleared when the condition ends):
 * - `no-samples`: no datagram for `silenceAlarmMs` (the flowgraph or radio is not running);
 * - `no-preamble`: datagrams arrive but no frame was found for `silenceAlarmMs`.
 * A burst whose samples stop coming is dropped after `burstTimeoutMs` without datagrams (stats.abandoned);
 * one that lacks only the equalizer's look-ahead then is completed with zeros in its place and delivered.
 */
import { createSocket, type Socket } from 'node:dgram';
import { AkbError, topics } from '@akb/protocol';
import { Fanout, type MqttTransport, type QoS } from '@akb/protocol/mqtt';
import { Depacketizer, type DepacketizerOptions, type DepacketizerStats } from './datagrams.js';
import { Synchronizer, type ReceivedBurst, type SynchronizerOptions, type SynchronizerStats } from './synchronizer.js';

export interface SdrGatewayOptions extends SynchronizerOptions, DepacketizerOptions {
  /** UDP port to listen on (0: one the kernel picks; see `port`). */
  port: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** The device whose link/rx topic gets the frames. */
  deviceId: string;
  /** Where to publish; without it frames only go to `onBurst` listeners. */
  client?: MqttTransport;
  qos?: QoS;
  /** Default 1000 ms. */
  burstTimeoutMs?: number;
  /** Default 5000 ms. */
  silenceAlarmMs?: number;
  /** Period of the alarm and timeout checks (default 250 ms; 0: only when `tick` is called). */
  checkIntervalMs?: number;
  /** Clock, ms (default performance.now). */
  now?: () => number;
}

export type SdrAlarmKind = 'no-samples' | 'no-preamble';

export interface SdrAlarm {
  kind: SdrAlarmKind;
  active: boolean;
  message: string;
}

export interface SdrGatewayStats extends SynchronizerStats, DepacketizerStats {
  published: number;
  publishFailures: number;
  lastSnrDb?: number;
}

export class SdrUdpGateway {
  private readonly sync: Synchronizer;
  private readonly depack: Depacketizer;
  private readonly bursts = new Fanout<ReceivedBurst>((e) => this.fail(e));
  private readonly alarms = new Fanout<SdrAlarm>((e) => this.fail(e));
  private readonly errors = new Fanout<Error>();
  private readonly active = new Set<SdrAlarmKind>();
  private readonly now: () => number;
  private readonly counters = { published: 0, publishFailures: 0, lastSnrDb: undefined as number | undefined };
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private lastDatagramAt: number;
  private lastFrameAt: number;
  private closed = false;

  private constructor(private readonly o: SdrGatewayOptions, private readonly socket: Socket, readonly port: number) {
    this.sync = new Synchronizer(o);
    this.depack = new Depacketizer(o);
    this.now = o.now ?? (() => performance.now());
    this.lastDatagramAt = this.lastFrameAt = this.now();
    socket.on('message', (m) => this.receive(m));
    socket.on('error', (e) => this.fail(e));
    const every = o.checkIntervalMs ?? 250;
    if (every > 0) {
      this.timer = setInterval(() => this.tick(), every);
      this.timer.unref();
    }
  }

  /** Binds the port. Throws AkbError('SDR_BIND_FAILED') when it is taken or not allowed, AkbError('INVALID_SDR_FORMAT') for bad options. */
  static async open(o: SdrGatewayOptions): Promise<SdrUdpGateway> {
    topics.linkRx(o.deviceId); // checks the device id now
    const socket = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    const port = await new Promise<number>((resolve, reject) => {
      socket.once('error', (e: NodeJS.ErrnoException) => {
        socket.close();
        reject(new AkbError('SDR_BIND_FAILED', `cannot listen on udp ${o.host ?? '127.0.0.1'}:${o.port}: ${e.code ?? e.message}`, { hint: 'pick a free port', cause: e }));
      });
      socket.bind(o.port, o.host ?? '127.0.0.1', () => resolve(socket.address().port));
    });
    try {
      return new SdrUdpGateway(o, socket, port);
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  get stats(): Readonly<SdrGatewayStats> {
    const { lastSnrDb, ...rest } = this.counters;
    return { ...this.sync.stats, ...this.depack.stats, ...rest, ...(lastSnrDb !== undefined ? { lastSnrDb } : {}) };
  }

  /** Alarms raised now. */
  get activeAlarms(): SdrAlarmKind[] {
    return [...this.active];
  }

  onBurst(listener: (burst: ReceivedBurst) => unknown): () => void {
    return this.bursts.on(listener);
  }

  onAlarm(listener: (alarm: SdrAlarm) => unknown): () => void {
    return this.alarms.on(listener);
  }

  onError(listener: (error: Error) => unknown): () => void {
    return this.errors.on(listener);
  }

  /** Hands one datagram in as if it came from the socket (tests, or another transport). */
  receive(datagram: Uint8Array): void {
    if (this.closed) return;
    this.lastDatagramAt = this.now();
    this.clear('no-samples');
    for (const values of this.depack.push(datagram)) {
      for (const burst of this.sync.push(values)) this.deliver(burst);
    }
  }

  /** Checks alarms and the pending burst's timeout at `now` (the timer calls this). */
  tick(now = this.now()): void {
    if (this.closed) return;
    const silence = this.o.silenceAlarmMs ?? 5000;
    if (this.sync.pending && now - this.lastDatagramAt >= (this.o.burstTimeoutMs ?? 1000)) {
      for (const burst of this.sync.flush()) this.deliver(burst);
    }
    if (now - this.lastDatagramAt >= silence) {
      this.raise('no-samples', `no samples on udp port ${this.port} for ${Math.round(now - this.lastDatagramAt)} ms: is the flowgraph (or radio) running and sending here?`);
    } else if (now - this.lastFrameAt >= silence) {
      this.raise('no-preamble', `samples arrive on udp port ${this.port} but no preamble was found for ${Math.round(now - this.lastFrameAt)} ms (${this.sync.stats.headerFailures} header failures)`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private deliver(burst: ReceivedBurst): void {
    this.lastFrameAt = this.now();
    this.clear('no-preamble');
    this.counters.lastSnrDb = burst.snrDb;
    this.bursts.emit(burst);
    const client = this.o.client;
    if (client === undefined) return;
    client.publish(topics.linkRx(this.o.deviceId), burst.frame, { qos: this.o.qos ?? 0 }).then(
      () => this.counters.published++,
      (e: unknown) => {
        this.counters.publishFailures++;
        this.fail(e);
      },
    );
  }

  private raise(kind: SdrAlarmKind, message: string): void {
    if (this.active.has(kind)) return;
    this.active.add(kind);
    this.alarms.emit({ kind, active: true, message });
  }

  private clear(kind: SdrAlarmKind): void {
    if (!this.active.delete(kind)) return;
    this.alarms.emit({ kind, active: false, message: `${kind} cleared` });
  }

  private fail(e: unknown): void {
    this.errors.emit(e instanceof Error ? e : new Error(String(e)));
  }
}
