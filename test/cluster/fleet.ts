/**
 * The fleet of the cluster tests: edges that publish numbered telemetry and frames at QoS 1, cloud workers
 * that count what they receive per device, and a watch on every client's connection (which node, when it
 * dropped, when it came back) so a node's death can be measured client by client.
 */
import { topics } from '@akb/protocol';
import type { AkbMqttClient } from '@akb/protocol/mqtt';

/** A frame payload: the u32 sequence number, then filler up to `bytes`. */
export function framePayload(seq: number, bytes = 512): Buffer {
  const b = Buffer.alloc(bytes, seq & 0xff);
  b.writeUInt32BE(seq, 0);
  return b;
}

export function telemetryPayload(device: string, seq: number): string {
  return JSON.stringify({ v: 1, device, seq, ts: Date.now() });
}

/** Publishes `count` telemetry messages and `count` frames, QoS 1, `inflight` at a time; `onSent(seq)` after each pair is acknowledged. */
export async function publishNumbered(
  edge: AkbMqttClient,
  device: string,
  count: number,
  options: { inflight?: number; gapMs?: number; onSent?: (seq: number) => void } = {},
): Promise<void> {
  const inflight = options.inflight ?? 8;
  const pending: Promise<void>[] = [];
  for (let seq = 0; seq < count; seq++) {
    pending.push(
      Promise.all([
        edge.publish(topics.telemetry(device), telemetryPayload(device, seq), { qos: 1 }),
        edge.publish(topics.linkRx(device), framePayload(seq), { qos: 1 }),
      ]).then(() => options.onSent?.(seq)),
    );
    if (pending.length >= inflight) await Promise.all(pending.splice(0));
    if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
  }
  await Promise.all(pending);
}

/** What one worker received of one device: sequence numbers seen, and how often beyond the first. */
export interface Received {
  telemetry: Set<number>;
  frames: Set<number>;
  duplicates: number;
}

/** Counts numbered telemetry and frames per device, for the devices `owns` accepts; the rest is counted as ignored. */
export class Tally {
  readonly devices = new Map<string, Received>();
  ignored = 0;

  constructor(private readonly owns: (device: string) => boolean) {}

  record(device: string, kind: 'telemetry' | 'frames', seq: number): void {
    if (!this.owns(device)) {
      this.ignored++;
      return;
    }
    let r = this.devices.get(device);
    if (r === undefined) this.devices.set(device, (r = { telemetry: new Set(), frames: new Set(), duplicates: 0 }));
    const set = r[kind];
    if (set.has(seq)) r.duplicates++;
    else set.add(seq);
  }

  /** Routes the worker's telemetry and link/rx messages into the tally. */
  attach(client: AkbMqttClient): void {
    client.onMessage('akb/v1/dev/+/telemetry', (m) => {
      const device = m.topic.split('/')[3]!;
      const seq = (JSON.parse(Buffer.from(m.payload).toString('utf8')) as { seq: number }).seq;
      this.record(device, 'telemetry', seq);
    });
    client.onMessage('akb/v1/dev/+/link/rx', (m) => {
      const device = m.topic.split('/')[3]!;
      this.record(device, 'frames', Buffer.from(m.payload).readUInt32BE(0));
    });
  }

  /** True once every owned device in `expected` has all `count` of both kinds. */
  complete(expected: readonly string[], count: number): boolean {
    return expected.filter(this.owns).every((d) => {
      const r = this.devices.get(d);
      return r !== undefined && r.telemetry.size === count && r.frames.size === count;
    });
  }
}

/** One client's connection over time: the node (MQTT port) it is on, and each drop and return. */
export class ConnectionWatch {
  readonly events: { at: number; kind: 'close' | 'connect'; port: number }[] = [];

  constructor(
    readonly name: string,
    readonly client: AkbMqttClient,
  ) {
    client.raw.on('close', () => this.events.push({ at: Date.now(), kind: 'close', port: this.port }));
    client.raw.on('connect', () => this.events.push({ at: Date.now(), kind: 'connect', port: this.port }));
  }

  /** The MQTT port of the node mqtt.js last connected to (it sets the options from its `servers` entry). */
  get port(): number {
    return Number(this.client.raw.options.port);
  }

  /** After `since`: ms from `since` to the first connect that follows a close, and the port it landed on. */
  reconnectAfter(since: number): { ms: number; port: number } | undefined {
    const after = this.events.filter((e) => e.at >= since);
    const closed = after.findIndex((e) => e.kind === 'close');
    if (closed < 0) return undefined;
    const back = after.slice(closed).find((e) => e.kind === 'connect');
    return back === undefined ? undefined : { ms: back.at - since, port: back.port };
  }
}

/** The list of `urls` starting at index `first`, so clients spread over the nodes. */
export function rotated(urls: readonly string[], first: number): string[] {
  const k = first % urls.length;
  return [...urls.slice(k), ...urls.slice(0, k)];
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
