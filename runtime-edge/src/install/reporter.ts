/**
 * The install agent's voice: every AgentEvent becomes one line on stdout and, when a broker is configured
 * and reachable, a retained QoS 1 `status` of state "updating" on the device's status topic (schema
 * StatusUpdating). The agent connects as a plain client (client id `<device>-agent`, user name the device
 * id): no birth and no will, those are the runtime's. A broker that cannot be reached does not stop an
 * install: the reporter says so in one line and the events are only printed. Publishes are chained in
 * event order and never awaited by the install; `close` waits for them, at most `closeTimeoutMs`.
 * For an mqtts:// broker it takes `tls`, else the files AKB_TLS_* name (tls-env.ts: the entry point sets them
 * from --ca/--cert/--key, so the probe and the reporter use one identity).
 */
import { encodeMessage, topics, type StatusUpdating } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient, type MqttTlsOptions } from '@akb/protocol/mqtt';
import type { AgentEvent } from '@akb/flash';
import { tlsFromEnv } from './tls-env.js';

export interface ReporterOptions {
  deviceId: string;
  /** No broker: events are printed only. */
  brokerUrl?: string;
  username?: string;
  password?: string;
  /** TLS for an mqtts:// broker; default: the files AKB_TLS_CA/AKB_TLS_CERT/AKB_TLS_KEY of `env` name. */
  tls?: MqttTlsOptions;
  /** Where AKB_TLS_* are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** One line of output (stdout). */
  out: (line: string) => void;
  connectTimeoutMs?: number;
  closeTimeoutMs?: number;
}

export class StatusReporter {
  private chain: Promise<void> = Promise.resolve();
  private failures = 0;
  /** Events published on the status topic. */
  published = 0;

  private constructor(
    private readonly o: ReporterOptions,
    private readonly client: AkbMqttClient | undefined,
  ) {}

  static async open(o: ReporterOptions): Promise<StatusReporter> {
    if (!o.brokerUrl) return new StatusReporter(o, undefined);
    try {
      const tls = o.tls ?? (await tlsFromEnv(o.brokerUrl, o.env ?? process.env));
      const client = await connectMqtt({
        url: o.brokerUrl,
        ...(tls ? { tls } : {}),
        clientId: `${o.deviceId}-agent`,
        username: o.username ?? o.deviceId,
        password: o.password,
        connectTimeoutMs: o.connectTimeoutMs ?? 5000,
      });
      return new StatusReporter(o, client);
    } catch (e) {
      o.out(`akb-agent: no status reports (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); installing anyway`);
      return new StatusReporter(o, undefined);
    }
  }

  /** The status message of an event. */
  message(e: AgentEvent, now = Date.now()): StatusUpdating {
    return {
      v: 1,
      device: this.o.deviceId,
      session: this.client?.session ?? 0,
      ts: now,
      state: 'updating',
      phase: e.phase,
      ...(e.bundle ? { bundle: { name: e.bundle.name, version: e.bundle.version } } : {}),
      ...(e.slot ? { slot: e.slot } : {}),
      message: e.message.split('\n')[0]!.slice(0, 2000),
    };
  }

  /** Prints the event and queues its status publish. */
  report(e: AgentEvent): void {
    const where = [e.slot ? `slot ${e.slot}` : '', e.bundle ? `${e.bundle.name} ${e.bundle.version}` : ''].filter(Boolean).join(', ');
    this.o.out(`akb-agent: ${e.phase}${where ? ` (${where})` : ''}: ${e.message.split('\n')[0]}`);
    const client = this.client;
    if (!client) return;
    let payload: string;
    try {
      payload = encodeMessage('status', this.message(e));
    } catch (err) {
      this.o.out(`akb-agent: status not published: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      return;
    }
    this.chain = this.chain.then(async () => {
      try {
        await client.publish(topics.status(this.o.deviceId), payload, { qos: 1, retain: true });
        this.published += 1;
      } catch (err) {
        if (this.failures++ === 0) this.o.out(`akb-agent: status not published: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    });
  }

  /** Waits for the queued publishes (bounded), then disconnects. */
  async close(): Promise<void> {
    if (!this.client) return;
    const limit = this.o.closeTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((resolve) => (timer = setTimeout(resolve, limit)))]);
    clearTimeout(timer);
    await this.client.close({ timeoutMs: 2000 });
  }
}
