/**
 * The per-device access rule of the topic tree, on Mosquitto (password file + ACL file):
 *
 *   pattern readwrite akb/v1/dev/%u/#     each device user owns its own prefix, nothing else
 *   user admin / topic readwrite #        the cloud sees everything
 *
 * Mosquitto 2.0 grants a subscription outside the prefix but delivers nothing on it (read access is
 * checked per message); a publish outside it is dropped silently over MQTT 3.1.1 and refused with
 * reason "Not authorized" over MQTT 5.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { AkbError, topics } from '@akb/protocol';
import { connectDevice, connectMqtt, RpcClient, RpcServer, type AkbMqttClient } from '@akb/protocol/mqtt';
import { describeWithProgram, Inbox, startMosquitto, testBirth, uniqueId, type BrokerHandle } from '../support/index.js';

const PASSWORDS = { d1: 'pw-d1-secret', d2: 'pw-d2-secret', admin: 'pw-admin-secret' };
const ACL = ['pattern readwrite akb/v1/dev/%u/#', '', 'user admin', 'topic readwrite #'].join('\n');

describeWithProgram('mosquitto', 'mosquitto', 'per-device ACL on Mosquitto', () => {
  let broker: BrokerHandle;
  let admin: AkbMqttClient;
  const open: AkbMqttClient[] = [];

  beforeAll(async () => {
    broker = await startMosquitto({ allowAnonymous: false, passwords: PASSWORDS, acl: ACL });
    admin = await connectMqtt({ url: broker.url, clientId: uniqueId('admin'), username: 'admin', password: PASSWORDS.admin });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await admin?.close();
    await broker?.close();
  });

  async function device(id: 'd1' | 'd2', protocolVersion: 4 | 5 = 4): Promise<AkbMqttClient> {
    const c = await connectDevice({
      url: broker.url, deviceId: id, clientId: uniqueId(id), username: id, password: PASSWORDS[id], birth: testBirth(id), protocolVersion,
    });
    open.push(c);
    return c;
  }

  it('lets d1 announce itself and publish under its own prefix', async () => {
    // Thrown at it: d1's retained birth and a telemetry sample, watched by the admin.
    const inbox = await Inbox.open(admin, topics.device('d1'));
    const d1 = await device('d1');
    await d1.publish(topics.telemetry('d1'), '{"t":1}', { qos: 1 });
    const got = await inbox.waitFor(2);
    expect(got.map((m) => m.topic)).toEqual([topics.status('d1'), topics.telemetry('d1')]);
    inbox.close();
  });

  it.each([4, 5] as const)('stops d1 writing under d2 (MQTT %i)', async (protocolVersion) => {
    // Thrown at it: d1 publishing a frame and a fake death onto d2's topics.
    const inbox = await Inbox.open(admin, topics.device('d2'));
    const d1 = await device('d1', protocolVersion);
    const attempt = d1.publish(topics.linkTx('d2'), new Uint8Array([1, 2, 3]), { qos: 1 });
    if (protocolVersion === 5) await expect(attempt).rejects.toThrow(/Not authorized/);
    else await attempt; // MQTT 3.1.1 has no way to refuse a publish: the broker acknowledges and drops it
    await d1.publish(topics.status('d2'), '{"state":"offline"}', { qos: 0, retain: true });
    expect(await inbox.quiet(300)).toEqual([]);
    inbox.close();
  });

  it('stops d1 reading d2, while d1 still reads its own prefix', async () => {
    // Thrown at it: d1 subscribing to d2's whole prefix and to every device's telemetry; the admin then
    // publishes on d2 and on d1.
    const d1 = await device('d1');
    const foreign = await Inbox.open(d1, topics.device('d2'));
    const wildcard = await Inbox.open(d1, 'akb/v1/dev/+/telemetry');
    await admin.publish(topics.telemetry('d2'), 'for d2', { qos: 1 });
    await admin.publish(topics.cmdReq('d2'), 'for d2', { qos: 1 });
    await admin.publish(topics.telemetry('d1'), 'for d1', { qos: 1 });
    const [own] = await wildcard.waitFor(1);
    expect(own!.topic).toBe(topics.telemetry('d1'));
    expect(await foreign.quiet(300)).toEqual([]);
    expect(wildcard.messages).toHaveLength(1);
  });

  it('refuses a wrong password and an anonymous client', async () => {
    // Thrown at it: d1 with d2's password, and no username at all.
    const bad = connectMqtt({ url: broker.url, clientId: uniqueId('bad'), username: 'd1', password: PASSWORDS.d2, reconnectPeriodMs: 0 });
    await expect(bad).rejects.toMatchObject({ code: 'MQTT_CONNECT_FAILED' });
    const anon = connectMqtt({ url: broker.url, clientId: uniqueId('anon'), reconnectPeriodMs: 0 });
    await expect(anon).rejects.toBeInstanceOf(AkbError);
  });

  it('carries cloud→device RPC when the answer stays under the device prefix', async () => {
    // Thrown at it: the admin asking d1 twice, once with replyTo on d1's cmd/res (allowed) and once with
    // replyTo on a cloud topic, which d1 may not write: that answer is dropped by the broker.
    const d1 = await device('d1');
    const server = new RpcServer(d1, { requestTopic: topics.cmdReq('d1'), handlers: { ping: () => 'pong' } });
    await server.start();
    const good = new RpcClient(admin, { requestTopic: topics.cmdReq('d1'), replyTopic: topics.cmdRes('d1') });
    expect(await good.request('ping')).toBe('pong');
    const blocked = new RpcClient(admin, { requestTopic: topics.cmdReq('d1'), replyTopic: topics.cloudRes(uniqueId('cloud')) });
    await expect(blocked.request('ping', undefined, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await good.stop();
    await blocked.stop();
    await server.stop();
  });
});
