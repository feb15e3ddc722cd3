/**
 * Publish/subscribe of protocol frames and device status, on aedes and on Mosquitto alike.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeFrame, decodeMessage, topics, type StatusMessage } from '@akb/protocol';
import { connectDevice, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { describeBrokers, Inbox, makeFrame, testBirth, uniqueId, type BrokerHandle } from '../support/index.js';

const SIZES = [256, 1024, 16 * 1024] as const;
const FRAMES_PER_CASE = 20;

/** Every status the tests see must satisfy the status schema (birth from testBirth, death from the client). */
function status(bytes: Buffer): StatusMessage {
  return decodeMessage('status', bytes);
}

describeBrokers('protocol frames and status over MQTT', (kind) => {
  let broker: BrokerHandle;
  let pub: AkbMqttClient;
  let sub: AkbMqttClient;
  const extra: AkbMqttClient[] = [];

  beforeAll(async () => {
    broker = await kind.start();
    pub = await connectMqtt({ url: broker.url, clientId: uniqueId('pub') });
    sub = await connectMqtt({ url: broker.url, clientId: uniqueId('sub') });
  });
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((c) => c.close({ force: true })));
  });
  afterAll(async () => {
    await pub?.close();
    await sub?.close();
    await broker?.close();
  });

  describe.each([0, 1] as const)('QoS %i', (qos) => {
    it.each(SIZES)('carries %i-byte codec frames byte-identical and decodable', async (size) => {
      // Thrown at it: 20 frames of one size, each with different payload bytes, published back to back.
      const topic = topics.linkTx(uniqueId('dev'));
      const inbox = await Inbox.open(sub, topic, qos);
      const sent = Array.from({ length: FRAMES_PER_CASE }, (_, i) => makeFrame(size, i));
      for (const frame of sent) await pub.publish(topic, frame, { qos });
      const got = await inbox.waitFor(sent.length);
      inbox.close();
      got.forEach((m, i) => {
        expect(m.payload.length).toBe(size);
        expect(Buffer.compare(m.payload, Buffer.from(sent[i]!))).toBe(0);
        const { header } = decodeFrame(m.payload);
        expect(header.frameId).toBe(i);
        expect(header.totalSymbols).toBe((size - 60) / 2);
      });
    });
  });

  it('keeps the birth retained for subscribers that come later', async () => {
    // Thrown at it: a device connects and announces itself before anyone listens.
    const id = uniqueId('dev');
    const device = await connectDevice({ url: broker.url, deviceId: id, birth: testBirth(id), session: 41 });
    extra.push(device);
    const late = await connectMqtt({ url: broker.url, clientId: uniqueId('late') });
    extra.push(late);
    const inbox = await Inbox.open(late, topics.status(id));
    const [birth] = await inbox.waitFor(1);
    expect(birth!.retain).toBe(true);
    expect(status(birth!.payload)).toMatchObject({ state: 'online', device: id, session: 41 });
  });

  it('publishes the retained last-will death when the device socket is destroyed', async () => {
    // Thrown at it: the device's TCP socket is destroyed without a DISCONNECT (client.stream.destroy()).
    const id = uniqueId('dev');
    const watcher = await connectMqtt({ url: broker.url, clientId: uniqueId('watch') });
    extra.push(watcher);
    const inbox = await Inbox.open(watcher, topics.status(id));
    const device = await connectDevice({
      url: broker.url, deviceId: id, birth: testBirth(id), session: 7, reconnectPeriodMs: 0, keepaliveSeconds: 5,
    });
    extra.push(device);
    await inbox.waitFor(1);
    device.raw.stream.destroy();
    const [, death] = await inbox.waitFor(2, 10_000);
    expect(status(death!.payload)).toMatchObject({ state: 'offline', reason: 'will', device: id, session: 7 });

    const late = await connectMqtt({ url: broker.url, clientId: uniqueId('late') });
    extra.push(late);
    const lateInbox = await Inbox.open(late, topics.status(id));
    const [retained] = await lateInbox.waitFor(1);
    expect(retained!.retain).toBe(true);
    expect(status(retained!.payload)).toMatchObject({ state: 'offline', reason: 'will' });
  });

  it('publishes a shutdown death on a clean close, and no will after it', async () => {
    // Thrown at it: a device closing itself the normal way (DISCONNECT, which cancels the will).
    const id = uniqueId('dev');
    const watcher = await connectMqtt({ url: broker.url, clientId: uniqueId('watch') });
    extra.push(watcher);
    const inbox = await Inbox.open(watcher, topics.status(id));
    const device = await connectDevice({ url: broker.url, deviceId: id, birth: testBirth(id), session: 3 });
    await inbox.waitFor(1);
    await device.close();
    const [, death] = await inbox.waitFor(2);
    expect(status(death!.payload)).toMatchObject({ state: 'offline', reason: 'shutdown', session: 3 });
    expect(await inbox.quiet(300)).toEqual([]);
  });

  it('routes to every matching handler even when one of them throws', async () => {
    // Thrown at it: a handler that throws and one that rejects, next to a working one.
    const client = await connectMqtt({ url: broker.url, clientId: uniqueId('iso') });
    extra.push(client);
    const errors: Error[] = [];
    client.errors.on((e) => void errors.push(e));
    const topic = topics.telemetry(uniqueId('dev'));
    client.onMessage(topic, () => {
      throw new Error('broken listener');
    });
    client.onMessage(topic, () => Promise.reject(new Error('broken async listener')));
    const inbox = await Inbox.open(client, topic);
    await pub.publish(topic, 'x', { qos: 1 });
    await inbox.waitFor(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(errors.map((e) => e.message).sort()).toEqual([
      expect.stringContaining('broken async listener'),
      expect.stringContaining('broken listener'),
    ]);
    expect(client.stats.handlerFailures).toBe(2);
  });
});

describeBrokers('device reconnect after a broker restart', (kind) => {
  let broker: BrokerHandle | undefined;
  afterAll(async () => {
    await broker?.close();
  });

  it('publishes a new birth with the next session, and registers the matching will', async () => {
    // Thrown at it: the broker is stopped and started again on the same port under a connected device.
    broker = await kind.start();
    const id = uniqueId('dev');
    const device = await connectDevice({
      url: broker.url, deviceId: id, birth: testBirth(id), session: 100, reconnectPeriodMs: 100,
    });
    const sessions: number[] = [];
    device.connected.on((e) => void sessions.push(e.session));
    await broker.restart();
    await vi.waitFor(() => expect(sessions).toEqual([101]), { timeout: 10_000, interval: 25 });
    expect(device.session).toBe(101);

    const watcher = await connectMqtt({ url: broker.url, clientId: uniqueId('watch') });
    const inbox = await Inbox.open(watcher, topics.status(id));
    const [birth] = await inbox.waitFor(1);
    expect(status(birth!.payload)).toMatchObject({ state: 'online', session: 101 });
    device.raw.options.reconnectPeriod = 0;
    device.raw.stream.destroy();
    const [, death] = await inbox.waitFor(2, 10_000);
    expect(status(death!.payload)).toMatchObject({ state: 'offline', reason: 'will', session: 101 });
    await device.close({ force: true });
    await watcher.close();
  });
});
