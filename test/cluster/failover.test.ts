/**
 * A client given several brokers (protocol/src/mqtt/brokers.ts), on aedes and on Mosquitto: the first
 * connection skips a broker that is down, a lost broker is left for the next one in the list and, when that
 * one goes too, for the first again; a list where nothing answers fails with one error naming every URL.
 * Separate brokers share nothing: these are failovers of the connection, not of the session (a cluster's
 * nodes share sessions: nats-failover.test.ts).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { connectDevice, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { Inbox, describeBrokers, freePort, testBirth, uniqueId, type BrokerHandle } from '../support/index.js';

const port = (c: AkbMqttClient): number => Number(c.raw.options.port);

describeBrokers('failover over a list of brokers', (kind) => {
  let a: BrokerHandle;
  let b: BrokerHandle;
  let nothing: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([kind.start(), kind.start()]);
    nothing = `mqtt://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('connects to the first broker that answers', async () => {
    const client = await connectMqtt({ url: `${nothing},${b.url}`, clientId: uniqueId('first'), reconnectPeriodMs: 200 });
    expect(port(client)).toBe(b.port);
    await client.close();
  });

  it('with reconnecting off, still tries each broker of the list once', async () => {
    const client = await connectMqtt({ url: `${nothing},${b.url}`, clientId: uniqueId('once'), reconnectPeriodMs: 0 });
    expect(port(client)).toBe(b.port);
    expect(client.raw.options.reconnectPeriod).toBe(0);
    await client.close();
  });

  it('fails once every broker failed, naming each', async () => {
    const other = `mqtt://127.0.0.1:${await freePort()}`;
    const err = await connectMqtt({ url: [nothing, other], clientId: uniqueId('none'), reconnectPeriodMs: 100 }).catch((e: unknown) => e);
    expect(isAkbError(err) && err.code === 'MQTT_CONNECT_FAILED').toBe(true);
    expect((err as Error).message).toContain(nothing);
    expect((err as Error).message).toContain(other);
  });

  it('moves to the next broker when its broker goes, and back to the first when that one goes too', async () => {
    const device = uniqueId('fo').replace(/[^A-Za-z0-9_-]/g, '');
    const edge = await connectDevice({ url: [a.url, b.url], deviceId: device, birth: testBirth(device), reconnectPeriodMs: 200, keepaliveSeconds: 5 });
    const births: number[] = [];
    edge.connected.on(() => births.push(port(edge)));
    expect(port(edge)).toBe(a.port);

    const aDown = a.restart({ downMs: 1500 });
    await expect.poll(() => births, { timeout: 10_000 }).toContain(b.port);
    await aDown;
    const watcher = await connectMqtt({ url: b.url, clientId: uniqueId('sub') });
    const onB = await Inbox.open(watcher, `akb/v1/dev/${device}/telemetry`);
    await edge.publish(`akb/v1/dev/${device}/telemetry`, 'on b', { qos: 1 });
    await onB.waitFor(1);

    const bDown = b.restart({ downMs: 1500 });
    await expect.poll(() => births.at(-1), { timeout: 10_000 }).toBe(a.port);
    await bDown;
    await edge.publish(`akb/v1/dev/${device}/telemetry`, 'on a again', { qos: 1 });
    onB.close();
    await watcher.close({ force: true });
    await edge.close();
  });

  it('refuses a device id a broker would refuse before connecting', async () => {
    const err = await connectDevice({ url: a.url, deviceId: 'cam.01', birth: testBirth('cam.01') }).catch((e: unknown) => e);
    expect(isAkbError(err) && err.code === 'BAD_DEVICE_ID').toBe(true);
  });
});
