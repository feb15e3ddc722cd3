/**
 * Unit tests without a broker: topic matching, the isolated fan-out, and the RPC pair over an in-memory
 * transport (the broker suites in test/broker run the same classes over aedes and Mosquitto).
 */
import { describe, expect, it } from 'vitest';
import { AkbError } from '../errors.js';
import { Fanout } from './fanout.js';
import { RpcClient } from './rpc-client.js';
import { RpcServer } from './rpc-server.js';
import { innerFilter, isPublishTopic, topicMatches } from './topic-match.js';
import type { AkbMessage, MessageHandler, MqttTransport, PublishOptions } from './transport.js';

describe('topicMatches', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'a/b', true],
    ['+/b', '/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$share/g/a/+', 'a/b', true],
    ['a/b', 'a/b/', false],
  ])('%s vs %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('strips the shared-subscription prefix and checks publish topics', () => {
    expect(innerFilter('$share/workers/akb/v1/dev/+/link/tx')).toBe('akb/v1/dev/+/link/tx');
    expect(isPublishTopic('akb/v1/dev/d1/status')).toBe(true);
    expect(isPublishTopic('akb/v1/+/x')).toBe(false);
    expect(isPublishTopic('')).toBe(false);
  });
});

describe('Fanout', () => {
  it('calls every listener although some throw or reject, and reports each failure', async () => {
    const failures: unknown[] = [];
    const f = new Fanout<number>((e) => failures.push(e));
    const seen: number[] = [];
    f.on(() => {
      throw new Error('sync');
    });
    f.on(() => Promise.reject(new Error('async')));
    const off = f.on((v) => void seen.push(v));
    expect(f.emit(1)).toBe(3);
    off();
    f.emit(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([1]);
    expect(failures).toHaveLength(4);
    expect(f.listenerFailures).toBe(4);
  });
});

/** Delivers publishes to matching handlers synchronously, as one broker with one connection would. */
class MemoryTransport implements MqttTransport {
  readonly published: { topic: string; payload: string; options: PublishOptions }[] = [];
  private readonly handlers = new Set<{ filter: string; handler: MessageHandler }>();
  constructor(readonly protocolVersion: 4 | 5 = 4) {}
  publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<void> {
    const bytes = Buffer.from(payload);
    this.published.push({ topic, payload: bytes.toString(), options });
    const m: AkbMessage = { topic, payload: bytes, qos: options.qos ?? 0, retain: false };
    if (this.protocolVersion === 5 && options.responseTopic !== undefined) m.responseTopic = options.responseTopic;
    if (this.protocolVersion === 5 && options.correlationData !== undefined) m.correlationData = Buffer.from(options.correlationData);
    queueMicrotask(() => {
      for (const h of this.handlers) if (topicMatches(h.filter, topic)) void h.handler(m);
    });
    return Promise.resolve();
  }
  subscribe(): Promise<void> {
    return Promise.resolve();
  }
  unsubscribe(): Promise<void> {
    return Promise.resolve();
  }
  onMessage(filter: string, handler: MessageHandler): () => void {
    const entry = { filter, handler };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }
}

describe('RpcServer and RpcClient in memory', () => {
  it('judges deadlines by the injected clock, answers, and echoes correlation data on MQTT 5', async () => {
    const t = new MemoryTransport(5);
    let now = 1_000;
    const server = new RpcServer(t, { requestTopic: 'req', handlers: { ping: () => 'pong' }, now: () => now });
    await server.start();
    const client = new RpcClient(t, { requestTopic: 'req', replyTopic: 'res', idPrefix: 'c' });
    expect(await client.request('ping', undefined, { deadline: 1_500 })).toBe('pong');
    now = 2_000;
    const e = await client.request('ping', undefined, { deadline: 1_500 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AkbError);
    expect((e as AkbError).code).toBe('EXPIRED');
    const answers = t.published.filter((p) => p.topic === 'res');
    expect(answers.map((a) => a.options.correlationData && Buffer.from(a.options.correlationData).toString())).toEqual(['c-1', 'c-2']);
  });

  it('refuses to send an invalid operation name', async () => {
    const client = new RpcClient(new MemoryTransport(), { requestTopic: 'req', replyTopic: 'res' });
    await expect(client.request('Not An Op')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
