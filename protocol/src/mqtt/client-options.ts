/**
 * What the MQTT client takes and reports: connect options (brokers, TLS, holding early messages), a
 * device's status messages, its counters and close options. The client itself is client.ts.
 */
import type { IClientOptions } from 'mqtt';
import type { MqttTlsOptions } from './tls.js';
import type { ProtocolVersion } from './transport.js';

export type DeathReason = 'will' | 'shutdown';

/** A status payload: bytes, a string, or a value sent as JSON. */
export type StatusPayload = Uint8Array | string | object;

export interface MqttConnectOptions {
  /**
   * `mqtt://host:port`, `mqtts://…`, `ws://…`; or several brokers, comma-separated or as an array, tried in
   * order and failed over to in turn (brokers.ts).
   */
  url: string | readonly string[];
  clientId?: string;
  protocolVersion?: ProtocolVersion;
  username?: string;
  password?: string;
  /** How long to wait for the first CONNACK (ms, default 10 000). */
  connectTimeoutMs?: number;
  /** Delay between reconnect attempts (ms, default 1000; 0 disables reconnecting). */
  reconnectPeriodMs?: number;
  keepaliveSeconds?: number;
  /**
   * Disable Nagle's algorithm on the TCP socket (default true). A QoS 1 request/response round trip on
   * loopback measured ~90 ms with Nagle on in clients and broker (delayed ACKs), ~44 ms with it off in
   * the clients only, ~1-3 ms with it off in both: also set `set_tcp_nodelay true` in Mosquitto.
   */
  noDelay?: boolean;
  /**
   * TLS for `mqtts://` and `wss://`: PEM contents (tls.ts's loadTlsFlags reads and checks the files the
   * `--ca/--cert/--key` flags name). connectMqtt and connectDevice refuse it with a URL that is not TLS.
   */
  tls?: MqttTlsOptions;
  /**
   * Hold incoming messages until `release()` (default: deliver at once). With a persistent session (clean
   * session off) the broker sends what it queued right after the CONNACK, before the caller has attached
   * its handlers; held, those messages reach them instead of counting as unrouted. Bounded: beyond
   * `maxMessages` (default 100 000) or `maxBytes` of payload (default 64 MiB) held messages are dropped
   * and counted in `stats.heldDropped`.
   */
  hold?: boolean | HoldLimits;
  /** Anything else mqtt.js accepts; the fields above win. */
  mqtt?: Partial<IClientOptions>;
}

export interface HoldLimits {
  maxMessages?: number;
  maxBytes?: number;
}

export interface DeviceStatus {
  /** The birth of connection `session`, published retained after every connect: a StatusOnline. */
  birth: (session: number) => StatusPayload;
  /** The death of connection `session` (default `defaultDeath`): a StatusOffline. */
  death?: (session: number, reason: DeathReason) => StatusPayload;
  /**
   * The first connection's session number (default: defaultSession(), tenths of a second since 2024); it grows by one on every
   * reconnect, and the birth and last will of one connection carry the same number.
   */
  session?: number;
}

export interface DeviceConnectOptions extends MqttConnectOptions, DeviceStatus {
  /** The device id: its status topic is `topics.status(deviceId)`; the client id defaults to it. */
  deviceId: string;
}

export interface ClientStats {
  received: number;
  /** Messages no handler's filter matched. */
  unrouted: number;
  published: number;
  births: number;
  handlerFailures: number;
  /** Messages dropped while held (the `hold` option's limits). */
  heldDropped: number;
}

export interface CloseOptions {
  /** Skip the death message and the graceful disconnect. */
  force?: boolean;
  /** Upper bound on the death publish and disconnect (ms, default 3000). */
  timeoutMs?: number;
}
