/**
 * AkbMqttClient over a stand-in for the mqtt.js client: how publish hands messages over and waits, and how
 * messages are routed (the broker suites in test/broker run the same class over aedes and Mosquitto).
 */
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { AkbMqttClient } from './client.js';

type Callback = (e?: Error) => void;

/** The parts of an mqtt.js client that AkbMqttClient touches. */
class FakeMqtt extends EventEmitter {
  options = { protocolVersion: 4 };
  connected = true;
  disconnecting = false;
  stream = Object.assign(new EventEmitter(), { writableNeedDrain: false });
  readonly calls: { topic: string; opts: object; cb: Callback | undefined }[] = [];

  publish(topic: string, _payload: Buffer, opts: object, cb?: Callback): this {
    this.calls.push({ topic, opts, cb });
    return this;
  }
}

function client(): { fake: FakeMqtt; akb: AkbMqttClient } {
  const fake = new FakeMqtt();
  return { fake, akb: new AkbMqttClient(fake as unknown as MqttClient) };
}

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('AkbMqttClient.publish', () => {
  it('hands a connected QoS 0 message to mqtt.js without a callback and resolves at once', async () => {
    const { fake, akb } = client();
    await akb.publish('a/b', new Uint8Array([1, 2]));
    await akb.publish('a/b', 'x', { qos: 0 });
    expect(fake.calls.map((c) => c.cb)).toEqual([undefined, undefined]);
    expect(fake.calls[0]!.opts).toEqual({ qos: 0, retain: false });
    expect(akb.stats.published).toBe(2);
  });

  it('makes QoS 0 senders wait for the drain of a full socket buffer, with one listener however many wait', async () => {
    const { fake, akb } = client();
    fake.stream.writableNeedDrain = true;
    const waits = [akb.publish('t', 'a'), akb.publish('t', 'b'), akb.publish('t', 'c')];
    expect(waits[1]).toBe(waits[0]);
    expect(await settled(waits[0]!)).toBe(false);
    expect(fake.stream.listenerCount('drain')).toBe(1);
    fake.stream.writableNeedDrain = false;
    fake.stream.emit('drain');
    expect(await settled(Promise.all(waits))).toBe(true);
    fake.stream.writableNeedDrain = true;
    const next = akb.publish('t', 'd');
    expect(next).not.toBe(waits[0]);
    expect(fake.stream.listenerCount('drain')).toBe(1);
    fake.stream.emit('close');
    expect(await settled(next)).toBe(true);
  });

  it('listens on the new stream after a reconnect', async () => {
    const { fake, akb } = client();
    fake.stream.writableNeedDrain = true;
    void akb.publish('t', 'a');
    fake.stream = Object.assign(new EventEmitter(), { writableNeedDrain: true });
    const wait = akb.publish('t', 'b');
    fake.stream.emit('drain');
    expect(await settled(wait)).toBe(true);
  });

  it('waits for mqtt.js when offline, disconnecting or at QoS 1, and rejects with its error', async () => {
    const { fake, akb } = client();
    fake.connected = false;
    const offline = akb.publish('t', 'a');
    fake.connected = true;
    const acked = akb.publish('t', 'b', { qos: 1, retain: true });
    fake.disconnecting = true;
    const refused = akb.publish('t', 'c');
    expect(fake.calls.map((c) => typeof c.cb)).toEqual(['function', 'function', 'function']);
    expect(fake.calls[1]!.opts).toEqual({ qos: 1, retain: true });
    expect(await settled(offline)).toBe(false);
    fake.calls[0]!.cb!();
    fake.calls[1]!.cb!();
    fake.calls[2]!.cb!(new Error('client disconnecting'));
    await expect(offline).resolves.toBeUndefined();
    await expect(acked).resolves.toBeUndefined();
    await expect(refused).rejects.toThrow('client disconnecting');
    expect(akb.stats.published).toBe(2);
  });
});

describe('AkbMqttClient.onMessage', () => {
  it('routes by exact topic, by wildcard and by shared-subscription filter', () => {
    const { fake, akb } = client();
    const seen: string[] = [];
    akb.onMessage('a/b', (m) => void seen.push(`exact ${m.topic}`));
    akb.onMessage('a/+', (m) => void seen.push(`plus ${m.topic}`));
    akb.onMessage('$share/g/a/#', (m) => void seen.push(`share ${m.topic}`));
    for (const topic of ['a/b', 'a/c', 'b/b']) fake.emit('message', topic, Buffer.alloc(0), { qos: 0, retain: false });
    expect(seen).toEqual(['exact a/b', 'plus a/b', 'share a/b', 'plus a/c', 'share a/c']);
  });
});

describe('AkbMqttClient hold', () => {
  const deliver = (fake: FakeMqtt, topic: string, bytes: number): void => void fake.emit('message', topic, Buffer.alloc(bytes), { qos: 1, retain: false });

  it('holds what arrives before release() and delivers it in order, then routes at once', () => {
    const fake = new FakeMqtt();
    const akb = new AkbMqttClient(fake as unknown as MqttClient, { hold: true });
    deliver(fake, 'q/1', 1);
    deliver(fake, 'q/2', 1);
    const seen: string[] = [];
    akb.onMessage('q/+', (m) => void seen.push(m.topic));
    expect(seen).toEqual([]);
    akb.release();
    expect(seen).toEqual(['q/1', 'q/2']);
    deliver(fake, 'q/3', 1);
    expect(seen).toEqual(['q/1', 'q/2', 'q/3']);
    expect(akb.stats).toMatchObject({ received: 3, unrouted: 0, heldDropped: 0 });
  });

  it('drops past its message and byte limits and counts them (a broker flooding a held client)', () => {
    const fake = new FakeMqtt();
    const akb = new AkbMqttClient(fake as unknown as MqttClient, { hold: { maxMessages: 3, maxBytes: 100 } });
    for (let i = 0; i < 5; i++) deliver(fake, `q/${i}`, 10); // 3 held, 2 over the count
    const fake2 = new FakeMqtt();
    const bytes = new AkbMqttClient(fake2 as unknown as MqttClient, { hold: { maxBytes: 100 } });
    for (let i = 0; i < 4; i++) deliver(fake2, `q/${i}`, 30); // 90 bytes held, the fourth would pass 100
    const seen: string[] = [];
    akb.onMessage('q/+', (m) => void seen.push(m.topic));
    akb.release();
    expect(seen).toEqual(['q/0', 'q/1', 'q/2']);
    expect(akb.stats.heldDropped).toBe(2);
    expect(bytes.stats.heldDropped).toBe(1);
  });

  it('without hold, a message with no handler yet is unrouted (what hold is for)', () => {
    const fake = new FakeMqtt();
    const akb = new AkbMqttClient(fake as unknown as MqttClient);
    deliver(fake, 'q/1', 1);
    expect(akb.stats.unrouted).toBe(1);
  });
});
