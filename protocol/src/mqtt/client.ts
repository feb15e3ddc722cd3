/**
 * A small wrapper over an mqtt.js connection. For a device it keeps the retained status topic true:
 * the last will (a retained "offline" status) is registered at connect time, a retained "online" birth is
 * published on connect and again after every reconnect, and a clean close publishes "offline" before
 * disconnecting (a clean disconnect does not fire the will). Messages are routed to handlers by topic
 * filter, each handler isolated from the others. Works over MQTT 3.1.1 (protocolVersion 4) and MQTT 5.
 */
import type { Writable } from 'node:stream';
import type { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import { AkbError } from '../errors.js';
import { topics } from '../topics.js';
import { Fanout } from './fanout.js';
import { subscribeThroughDrops } from './subscribe.js';
import { errorText, withTimeout } from './util.js';
import { innerFilter, topicMatches } from './topic-match.js';
import type { ClientStats, CloseOptions, DeathReason, DeviceStatus, HoldLimits, StatusPayload } from './client-options.js';
import {
  asBuffer,
  type AkbMessage,
  type MessageHandler,
  type MqttTransport,
  type ProtocolVersion,
  type PublishOptions,
  type QoS,
} from './transport.js';

export type { ClientStats, CloseOptions, DeathReason, DeviceConnectOptions, DeviceStatus, HoldLimits, MqttConnectOptions, StatusPayload } from './client-options.js';

const RESOLVED: Promise<void> = Promise.resolve();
const PUBLISH_OPTIONS: Readonly<Record<QoS, readonly [IClientPublishOptions, IClientPublishOptions]>> = {
  0: [Object.freeze({ qos: 0, retain: false }), Object.freeze({ qos: 0, retain: true })],
  1: [Object.freeze({ qos: 1, retain: false }), Object.freeze({ qos: 1, retain: true })],
  2: [Object.freeze({ qos: 2, retain: false }), Object.freeze({ qos: 2, retain: true })],
};
/**
 * The first session number of a process: tenths of a second since 2024-01-01, so a restarted device counts
 * on from where it was (readers drop a late death of an older session) even when it restarts within the
 * same second; it fits a u32 until 2037. A device that keeps state should persist and pass its own.
 */
export function defaultSession(now: number = Date.now()): number {
  return Math.floor((now - Date.UTC(2024, 0, 1)) / 100) >>> 0;
}

/**
 * The default death, a StatusOffline (schemas/status.ts): `reason` is "will" for the last will the broker
 * publishes, "shutdown" when the device says goodbye itself.
 */
export function defaultDeath(deviceId: string, session: number, reason: DeathReason, now: number = Date.now()): object {
  return { v: 1, device: deviceId, session, ts: now, state: 'offline', reason };
}

function statusBytes(p: StatusPayload): Buffer | string {
  return typeof p === 'string' || p instanceof Uint8Array ? asBuffer(p) : JSON.stringify(p);
}

interface DeviceIdentity {
  id: string;
  birth: (session: number) => StatusPayload;
  death: (session: number, reason: DeathReason) => StatusPayload;
}

export class AkbMqttClient implements MqttTransport {
  readonly protocolVersion: ProtocolVersion;
  /** Errors of the connection and of message handlers; listeners are isolated from each other. */
  readonly errors: Fanout<Error>;
  /** Fires after every (re)connect, once the birth (for a device) is published. */
  readonly connected = new Fanout<{ reconnect: boolean; session: number }>();
  private readonly messages: Fanout<AkbMessage>;
  private readonly counters: ClientStats = { received: 0, unrouted: 0, published: 0, births: 0, handlerFailures: 0, heldDropped: 0 };
  /** Messages held until release() (the `hold` option), with their payload bytes and limits. */
  private held: { messages: AkbMessage[]; bytes: number; maxMessages: number; maxBytes: number } | undefined;
  private readonly device: DeviceIdentity | undefined;
  private currentSession: number;
  private readonly noDelay: boolean;
  private connects = 0;
  private closing = false;
  /** The wait for the socket's next 'drain', shared by the QoS 0 publishers that found its buffer full. */
  private drain: Promise<void> | undefined;
  private resolveDrain: (() => void) | undefined;
  /** The stream `onDrain` listens to (mqtt.js makes a new one on every reconnect). */
  private drainStream: unknown;

  /**
   * Wraps an mqtt.js client. Prefer `connectDevice` / `connectMqtt`: for a device, the will must already
   * be in the mqtt.js options when it connects, which `connectDevice` sees to.
   */
  constructor(
    readonly raw: MqttClient,
    options: { protocolVersion?: ProtocolVersion; device?: DeviceStatus & { deviceId: string }; noDelay?: boolean; hold?: boolean | HoldLimits } = {},
  ) {
    this.noDelay = options.noDelay ?? true;
    if (options.hold !== undefined && options.hold !== false) {
      const limits = options.hold === true ? {} : options.hold;
      this.held = { messages: [], bytes: 0, maxMessages: limits.maxMessages ?? 100_000, maxBytes: limits.maxBytes ?? 64 * 2 ** 20 };
    }
    this.protocolVersion = options.protocolVersion ?? (raw.options.protocolVersion === 5 ? 5 : 4);
    const d = options.device;
    if (d !== undefined) {
      const id = d.deviceId;
      this.device = { id, birth: d.birth, death: d.death ?? ((session, reason) => defaultDeath(id, session, reason)) };
    }
    this.currentSession = (d?.session ?? defaultSession()) >>> 0;
    this.errors = new Fanout<Error>();
    this.messages = new Fanout<AkbMessage>((e, m) => {
      this.counters.handlerFailures++;
      this.errors.emit(new AkbError('HANDLER_FAILED', `message handler for ${m.topic} failed: ${errorText(e)}`, { cause: e }));
    });
    // mqtt.js throws an unhandled 'error' event; this listener makes every error a reported one.
    raw.on('error', (e: Error) => this.errors.emit(e));
    raw.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => this.dispatch(topic, payload, packet));
    raw.on('connect', () => this.onConnect());
    raw.on('reconnect', () => this.onReconnect());
    if (raw.connected) this.connects = 1;
  }

  get deviceId(): string | undefined {
    return this.device?.id;
  }

  /** The session number of the current connection (shared by its birth and its last will). */
  get session(): number {
    return this.currentSession;
  }

  /** The last will to register for the current session (for a device). */
  will(): NonNullable<IClientOptions['will']> | undefined {
    if (this.device === undefined) return undefined;
    const payload = statusBytes(this.device.death(this.currentSession, 'will'));
    return { topic: topics.status(this.device.id), payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: 1, retain: true };
  }

  get connectedNow(): boolean {
    return this.raw.connected;
  }

  get stats(): Readonly<ClientStats> {
    return { ...this.counters };
  }

  /**
   * Publishes. QoS 1 and 2 resolve on the broker's acknowledgement. QoS 0 resolves once mqtt.js has written
   * the packet to the socket's buffer, or, when that buffer is full, at its next 'drain' (so a sender that
   * awaits each publish cannot outrun the socket).
   *
   * Measured with bench/broker.ts (16 KiB frames, QoS 0): handing mqtt.js a callback for QoS 0 made it add a
   * once('drain') listener per message whenever the socket buffer was over its 16 KiB mark, which at 16 KiB
   * is every message, and each drain then removed up to 64 listeners one by one. A connected QoS 0 publish
   * therefore goes without a callback, and publishers share one wait for the next drain.
   */
  publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<void> {
    const opts = this.publishOptions(options);
    const bytes = asBuffer(payload);
    const raw = this.raw;
    if (opts.qos === 0 && raw.connected && !raw.disconnecting) {
      raw.publish(topic, bytes, opts);
      this.counters.published++;
      return (raw.stream as Partial<Writable>).writableNeedDrain === true ? this.drained() : RESOLVED;
    }
    // Offline (mqtt.js queues the packet), disconnecting (it fails the callback), or QoS 1/2 (PUBACK/PUBCOMP).
    return new Promise<void>((resolve, reject) => {
      raw.publish(topic, bytes, opts, (e) => {
        if (e) reject(e);
        else {
          this.counters.published++;
          resolve();
        }
      });
    });
  }

  /** mqtt.js options for `options`: one shared object per QoS and retain flag unless MQTT 5 properties are set. */
  private publishOptions(options: PublishOptions): IClientPublishOptions {
    const qos = options.qos ?? 0;
    const retain = options.retain ?? false;
    if (this.protocolVersion === 5) {
      const properties: NonNullable<IClientPublishOptions['properties']> = {};
      if (options.responseTopic !== undefined) properties.responseTopic = options.responseTopic;
      if (options.correlationData !== undefined) properties.correlationData = asBuffer(options.correlationData) as Buffer;
      if (options.userProperties !== undefined) properties.userProperties = options.userProperties;
      if (options.messageExpirySeconds !== undefined) properties.messageExpiryInterval = options.messageExpirySeconds;
      if (Object.keys(properties).length > 0) return { qos, retain, properties };
    }
    // mqtt.js copies the options it is given, so sharing these frozen objects is safe.
    return PUBLISH_OPTIONS[qos][retain ? 1 : 0];
  }

  /**
   * Resolves at the connection's next 'drain' (or when it closes). Whoever waits shares one promise, and the
   * stream keeps one pair of listeners, attached the first time its buffer fills.
   */
  private drained(): Promise<void> {
    const stream = this.raw.stream;
    if (this.drainStream !== stream) {
      this.drainStream = stream;
      stream.on('drain', this.onDrain);
      stream.on('close', this.onDrain);
    }
    return (this.drain ??= new Promise<void>((resolve) => (this.resolveDrain = resolve)));
  }

  private readonly onDrain = (): void => {
    const resolve = this.resolveDrain;
    this.drain = undefined;
    this.resolveDrain = undefined;
    resolve?.();
  };

  /**
   * Subscribes; throws AkbError('SUBSCRIBE_REFUSED') when the broker refuses (e.g. by ACL). A connection
   * lost while the subscription is pending (mqtt.js rejects it with "Connection closed") is not the
   * caller's failure: the subscription is sent again after the reconnect, at most
   * SUBSCRIBE_RECONNECT_TRIES times; closing the client ends the wait with AkbError('CLOSED').
   */
  async subscribe(filter: string, options: { qos?: QoS } = {}): Promise<void> {
    const granted = await subscribeThroughDrops(this.raw, filter, options.qos ?? 0, () => this.closing);
    const refused = granted.find((g) => g.qos === 128);
    if (refused !== undefined) {
      throw new AkbError('SUBSCRIBE_REFUSED', `broker refused the subscription to ${filter}`, {
        hint: 'check the broker ACL for this user',
      });
    }
  }

  async unsubscribe(filter: string): Promise<void> {
    await this.raw.unsubscribeAsync(filter);
  }

  onMessage(filter: string, handler: MessageHandler): () => void {
    const inner = innerFilter(filter);
    // A filter without wildcards matches one topic: a string comparison per message instead of a split.
    if (!inner.includes('+') && !inner.includes('#')) return this.messages.on((m) => (m.topic === inner ? handler(m) : undefined));
    return this.messages.on((m) => (topicMatches(filter, m.topic) ? handler(m) : undefined));
  }

  /** For a device: publishes the retained "offline" status, then disconnects. Idempotent. */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const timeoutMs = options.timeoutMs ?? 3000;
    if (options.force === true || !this.raw.connected) {
      await this.raw.endAsync(true);
      return;
    }
    try {
      await withTimeout(
        (async () => {
          if (this.device !== undefined) await this.publishStatus(this.device.death(this.currentSession, 'shutdown'));
          await this.raw.endAsync();
        })(),
        timeoutMs,
      );
    } catch (e) {
      this.errors.emit(e instanceof Error ? e : new Error(errorText(e)));
      await this.raw.endAsync(true);
    }
  }

  private async publishStatus(payload: StatusPayload): Promise<void> {
    if (this.device === undefined) return;
    await this.publish(topics.status(this.device.id), statusBytes(payload), { qos: 1, retain: true });
  }

  /** Wired to mqtt.js 'reconnect', before it sends CONNECT: a new session, and its will. */
  private onReconnect(): void {
    if (this.device === undefined || this.closing) return;
    this.currentSession = (this.currentSession + 1) >>> 0;
    const will = this.will();
    if (will !== undefined) this.raw.options.will = will;
  }

  /** Wired to mqtt.js 'connect': publishes the birth, then tells listeners. */
  private onConnect(): void {
    if (this.noDelay) setNoDelay(this.raw);
    const reconnect = this.connects > 0;
    this.connects++;
    if (!reconnect) return; // the first birth is published by connectDevice, which awaits it
    this.announce(reconnect).catch((e: unknown) => this.errors.emit(e instanceof Error ? e : new Error(errorText(e))));
  }

  /** @internal Publishes the birth (for a device) and fires `connected`. */
  async announce(reconnect: boolean): Promise<void> {
    if (this.device !== undefined) {
      await this.publishStatus(this.device.birth(this.currentSession));
      this.counters.births++;
    }
    this.connected.emit({ reconnect, session: this.currentSession });
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket): void {
    this.counters.received++;
    const message: AkbMessage = { topic, payload, qos: packet.qos, retain: packet.retain };
    const p = packet.properties;
    if (p !== undefined) {
      if (p.responseTopic !== undefined) message.responseTopic = p.responseTopic;
      if (p.correlationData !== undefined) message.correlationData = p.correlationData;
      if (p.userProperties !== undefined) message.userProperties = p.userProperties;
    }
    const held = this.held;
    if (held !== undefined) {
      if (held.messages.length >= held.maxMessages || held.bytes + payload.length > held.maxBytes) this.counters.heldDropped++;
      else {
        held.messages.push(message);
        held.bytes += payload.length;
      }
      return;
    }
    if (this.messages.emit(message) === 0) this.counters.unrouted++;
  }

  /** Delivers the messages held since connecting (the `hold` option) to the handlers, then every later one at once. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    for (const m of held?.messages ?? []) if (this.messages.emit(m) === 0) this.counters.unrouted++;
  }
}

/** TCP_NODELAY on the connection's socket, when it is a TCP socket (not a WebSocket). */
function setNoDelay(raw: MqttClient): void {
  const stream = raw.stream as unknown as { setNoDelay?: (on: boolean) => unknown };
  if (typeof stream.setNoDelay === 'function') stream.setNoDelay(true);
}
