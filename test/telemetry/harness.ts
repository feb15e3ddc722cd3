/** What the ingest and alarm tests share: a cloud-side client with a hub, a fake clock, polling. */
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { encodeMessage, topics, type StatusMessage, type TelemetryMessage } from '@akb/protocol';
import { uniqueId } from '../support/index.js';

export class FakeClock {
  constructor(public t = 1_767_225_600_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export function connect(url: string, prefix = 'tele'): Promise<AkbMqttClient> {
  return connectMqtt({ url, clientId: uniqueId(prefix) });
}

/** Polls `test` every 20 ms; rejects after `timeoutMs` with `what` and the last value seen. */
export async function until<T>(read: () => T | Promise<T>, test: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (test(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: not after ${timeoutMs} ms; last: ${JSON.stringify(v).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function publishStatus(client: AkbMqttClient, m: StatusMessage): Promise<void> {
  return client.publish(topics.status(m.device), encodeMessage('status', m), { qos: 1, retain: true });
}

export function publishSample(client: AkbMqttClient, m: TelemetryMessage, topicDevice = m.device): Promise<void> {
  return client.publish(topics.telemetry(topicDevice), encodeMessage('telemetry', m), { qos: 1 });
}

/** Clears the retained status and alarm of `devices`, so later suites on the same broker start clean. */
export async function clearRetained(client: AkbMqttClient, devices: readonly string[]): Promise<void> {
  for (const d of devices) {
    await client.publish(topics.status(d), '', { qos: 1, retain: true });
    await client.publish(topics.alarm(d), '', { qos: 1, retain: true });
  }
}
