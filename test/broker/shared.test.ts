/**
 * Shared subscriptions (`$share/<group>/<filter>`): the broker hands each message to one member of the
 * group, which is how several cloud decoders split the frames of a fleet. Mosquitto honours them for
 * MQTT 5 and 3.1.1 clients; aedes 1.2 does not (see BrokerKind.sharedSubscriptionsNote).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { filters, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { describeBrokers, Inbox, makeFrame, uniqueId, type BrokerHandle } from '../support/index.js';

const MESSAGES = 100;

describeBrokers('shared subscriptions', (kind) => {
  let broker: BrokerHandle;
  const clients: AkbMqttClient[] = [];

  beforeAll(async () => {
    broker = await kind.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await broker?.close();
  });

  async function client(prefix: string, protocolVersion: 4 | 5): Promise<AkbMqttClient> {
    const c = await connectMqtt({ url: broker.url, clientId: uniqueId(prefix), protocolVersion });
    clients.push(c);
    return c;
  }

  /** Two workers in one group on link/tx of every device; 100 frames from 4 devices. */
  async function split(protocolVersion: 4 | 5): Promise<{ a: Inbox; b: Inbox; plain: Inbox; sent: Buffer[] }> {
    const group = uniqueId('workers').replace(/[^A-Za-z0-9_-]/g, '_');
    const shared = filters.shared(group, filters.allLinkTx);
    const a = await Inbox.open(await client('wa', protocolVersion), shared);
    const b = await Inbox.open(await client('wb', protocolVersion), shared);
    const plain = await Inbox.open(await client('all', protocolVersion), filters.allLinkTx);
    const pub = await client('pub', protocolVersion);
    const devices = [1, 2, 3, 4].map(() => uniqueId('dev'));
    const sent: Buffer[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const frame = Buffer.from(makeFrame(256, i));
      sent.push(frame);
      await pub.publish(topics.linkTx(devices[i % devices.length]!), frame, { qos: 1 });
    }
    await plain.waitFor(MESSAGES);
    return { a, b, plain, sent };
  }

  const title = 'splits messages between two workers of one group, each message once (MQTT %i)';
  if (kind.sharedSubscriptions) {
    it.each([4, 5] as const)(title, async (protocolVersion) => {
      // Thrown at it: 100 QoS 1 frames from 4 devices, two workers sharing one group, one plain subscriber.
      const { a, b, sent } = await split(protocolVersion);
      await expect.poll(() => a.messages.length + b.messages.length, { timeout: 5000 }).toBe(MESSAGES);
      expect(await a.quiet(200)).toEqual([]);
      expect(a.messages.length).toBeGreaterThan(0);
      expect(b.messages.length).toBeGreaterThan(0);
      const got = [...a.messages, ...b.messages].map((m) => m.payload.toString('hex')).sort();
      expect(got).toEqual(sent.map((f) => f.toString('hex')).sort());
    });
  } else {
    it.skip(`${title.replace(' (MQTT %i)', '')} [skipped on ${kind.name}: no $share support]`, () => undefined);
    it(`receives nothing on a $share filter (${kind.name} has no shared subscriptions)`, async () => {
      // Thrown at it: the same split on a broker without shared subscriptions, to document what it does
      // (BrokerKind.sharedSubscriptionsNote): the literal "$share/…" filter matches no topic.
      const { a, b } = await split(4);
      expect(await a.quiet(300)).toEqual([]);
      expect(a.messages.length + b.messages.length).toBe(0);
    });
  }
});
