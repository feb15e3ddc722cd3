/**
 * A connection lost while a subscription is pending. Thrown at it: an embedded broker (aedes) that drops
 * the client's TCP connection when its first SUBSCRIBE for a topic arrives (as a broker restarting at that
 * instant would), before granting anything. mqtt.js rejects the pending subscription with "Connection
 * closed"; the client must send it again after reconnecting instead of failing its caller (the edge died
 * of exactly this with an internal error while starting under qemu). A broker that drops it every time
 * gives up after a bounded number of reconnects with one typed error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AedesOptions } from 'aedes';
import { isAkbError } from '@akb/protocol';
import { connectMqtt, SUBSCRIBE_RECONNECT_TRIES, type AkbMqttClient } from '@akb/protocol/mqtt';
import { startAedes, uniqueId, type AedesHandle } from '../support/index.js';

type Hook = NonNullable<AedesOptions['authorizeSubscribe']>;

/** Drops the connection on the first `drops` subscriptions to `topic`, then grants. */
function dropping(topic: string, drops: number): { hook: Hook; seen: () => number } {
  let seen = 0;
  const hook: Hook = (client, sub, callback) => {
    if (sub.topic === topic && seen++ < drops) {
      client.conn.destroy();
      return;
    }
    callback(null, sub);
  };
  return { hook, seen: () => seen };
}

describe('subscribe while the connection drops', () => {
  let broker: AedesHandle | undefined;
  const clients: AkbMqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close({ force: true })));
    await broker?.close();
  });

  it('subscribes again after the reconnect, and the subscription then carries messages', async () => {
    const topic = `akb/v1/dev/${uniqueId('d')}/cmd/req`;
    const drop = dropping(topic, 2);
    broker = await startAedes({ aedes: { authorizeSubscribe: drop.hook } });
    const client = await connectMqtt({ url: broker.url, clientId: uniqueId('sub') });
    clients.push(client);
    const got = new Promise<string>((resolve) => client.onMessage(topic, (m) => resolve(m.payload.toString())));
    await client.subscribe(topic, { qos: 1 });
    expect(drop.seen()).toBeGreaterThanOrEqual(3);
    const pub = await connectMqtt({ url: broker.url, clientId: uniqueId('pub') });
    clients.push(pub);
    await pub.publish(topic, 'after the drops', { qos: 1 });
    expect(await got).toBe('after the drops');
  });

  it('gives up with one typed error when every attempt is dropped', async () => {
    const topic = `akb/v1/dev/${uniqueId('d')}/cmd/req`;
    const drop = dropping(topic, Number.POSITIVE_INFINITY);
    broker = await startAedes({ aedes: { authorizeSubscribe: drop.hook } });
    const client = await connectMqtt({ url: broker.url, clientId: uniqueId('sub') });
    clients.push(client);
    const error = await client.subscribe(topic).then(() => undefined, (e: unknown) => e);
    expect(isAkbError(error) && error.code).toBe('SUBSCRIBE_FAILED');
    expect((error as Error).message).toMatch(new RegExp(`lost ${SUBSCRIBE_RECONNECT_TRIES} times`));
    expect(drop.seen()).toBeGreaterThanOrEqual(SUBSCRIBE_RECONNECT_TRIES);
  });

  it('ends the wait with CLOSED when the client is closed while reconnecting', async () => {
    const topic = `akb/v1/dev/${uniqueId('d')}/cmd/req`;
    const drop = dropping(topic, Number.POSITIVE_INFINITY);
    broker = await startAedes({ aedes: { authorizeSubscribe: drop.hook } });
    const client = await connectMqtt({ url: broker.url, clientId: uniqueId('sub') });
    const pending = client.subscribe(topic).then(() => undefined, (e: unknown) => e);
    while (drop.seen() === 0) await new Promise((r) => setTimeout(r, 10));
    await client.close({ force: true });
    const error = await pending;
    expect(isAkbError(error) && error.code).toBe('CLOSED');
  });
});
