/**
 * The direction-split ACL (`akb topics --acl --tool ops --gateway gw`, toolkit/src/commands/topics.ts) on a
 * real Mosquitto over TLS, with the credentials `akb fleet provision` makes (pki.ts): one TLS listener logs
 * clients in by certificate (`require_certificate`, `use_identity_as_username`: the common name is the user),
 * another by password (the `$7$` lines provision computed). Devices d1 and d2, the cloud (akb-cloud), a
 * tool (ops) and a gateway (gw).
 *
 * Every refusal is observed, not assumed: over MQTT 5 the broker's PUBACK says "Not authorized"; and a
 * client that would see the message if it got through is watching, behind a barrier: after the refused
 * publish, an allowed message is sent to the same watcher, and Mosquitto delivers a watcher's messages in
 * the order it accepted them, so once the allowed one is in, the refused one can no longer come.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { decodeMessage, topics, type IntentMessage } from '@akb/protocol';
import { connectDevice, connectMqtt, RpcClient, RpcServer, type AkbMqttClient } from '@akb/protocol/mqtt';
import { CloudService } from '@akb/cloud';
import { mosquittoAcl } from '../../toolkit/src/commands/topics.js';
import { describeWithProgram, Inbox, startMosquitto, testBirth, uniqueId, type MosquittoHandle } from '../support/index.js';
import { makePki, tlsOf, type TestPki } from './pki.js';

const DEVICES = ['d1', 'd2'];
const SERVICES = ['akb-cloud', 'ops', 'gw'];

// The credentials are made by akb fleet provision, which runs openssl.
describeWithProgram('openssl', 'openssl', 'with openssl', () => describeWithProgram('mosquitto', 'mosquitto', 'direction-split ACL on Mosquitto over TLS', () => {
  let pki: TestPki;
  let broker: MosquittoHandle;
  let certUrl: string;
  let passwordUrl: string;
  const open: AkbMqttClient[] = [];

  beforeAll(async () => {
    pki = await makePki({ devices: DEVICES, services: SERVICES });
    const acl = (await mosquittoAcl({ cloudUser: 'akb-cloud', tools: ['ops'], gateways: ['gw'] })).join('\n');
    const listener = { cafile: pki.ca, certfile: pki.broker.cert, keyfile: pki.broker.key };
    broker = await startMosquitto({
      allowAnonymous: false,
      acl,
      extraConfig: `password_file ${pki.passwordFile}`,
      tlsListeners: [{ ...listener, requireCertificate: true, useIdentityAsUsername: true }, listener],
    });
    [certUrl, passwordUrl] = broker.tlsUrls as [string, string];
  }, 60_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close({ force: true })));
  });
  afterAll(async () => {
    await broker?.close();
    await pki?.close();
  });

  /** `user` logged in by its certificate. */
  async function client(user: string, protocolVersion: 4 | 5 = 5): Promise<AkbMqttClient> {
    const c = await connectMqtt({ url: certUrl, clientId: uniqueId(user), protocolVersion, tls: await tlsOf(pki, user), reconnectPeriodMs: 0 });
    open.push(c);
    return c;
  }

  async function device(id: string, protocolVersion: 4 | 5 = 5): Promise<AkbMqttClient> {
    const c = await connectDevice({ url: certUrl, deviceId: id, clientId: uniqueId(id), protocolVersion, tls: await tlsOf(pki, id), birth: testBirth(id), reconnectPeriodMs: 0 });
    open.push(c);
    return c;
  }

  /** Publishes and says how the broker answered: 'ok', or the refusal's message. */
  async function attempt(c: AkbMqttClient, topic: string, payload: string, retain = false): Promise<string> {
    return c.publish(topic, payload, { qos: 1, retain }).then(() => 'ok', (e: unknown) => (e instanceof Error ? e.message : String(e)));
  }

  it('logs devices in by certificate and by password, and refuses a stranger certificate, no certificate, a wrong password', async () => {
    const ca = (await tlsOf(pki, 'd1')).ca;
    const byPassword = await connectMqtt({ url: passwordUrl, clientId: uniqueId('d1'), username: 'd1', password: pki.users.d1!.password, tls: { ca }, reconnectPeriodMs: 0 });
    open.push(byPassword);
    const { readFile } = await import('node:fs/promises');
    const stranger = { ca, cert: await readFile(pki.stranger.cert, 'utf8'), key: await readFile(pki.stranger.key, 'utf8') };
    const otherCa = await readFile(pki.stranger.ca, 'utf8');
    const refused = [
      connectMqtt({ url: certUrl, clientId: uniqueId('x'), tls: stranger, reconnectPeriodMs: 0, connectTimeoutMs: 5000 }),
      connectMqtt({ url: certUrl, clientId: uniqueId('x'), tls: { ca }, reconnectPeriodMs: 0, connectTimeoutMs: 5000 }),
      connectMqtt({ url: passwordUrl, clientId: uniqueId('x'), username: 'd1', password: pki.users.d2!.password, tls: { ca }, reconnectPeriodMs: 0 }),
      connectMqtt({ url: broker.url, clientId: uniqueId('x'), username: 'd1', password: pki.users.d1!.password, reconnectPeriodMs: 0 }).then(
        (c) => (open.push(c), c),
      ),
      // The broker's certificate checked: a client trusting another CA refuses it.
      connectMqtt({ url: passwordUrl, clientId: uniqueId('x'), username: 'd1', password: pki.users.d1!.password, tls: { ca: otherCa }, reconnectPeriodMs: 0 }),
    ];
    const outcomes = await Promise.allSettled(refused);
    expect(outcomes.slice(0, 3).map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(outcomes[3]!.status).toBe('fulfilled'); // the plain listener takes passwords (no TLS: loopback only here)
    expect(outcomes[4]!.status).toBe('rejected');
    expect(String((outcomes[4] as PromiseRejectedResult).reason)).toMatch(/certificate/i);
  });

  it.each([4, 5] as const)('keeps d1 from publishing as d2: status, telemetry, link/tx, link/meta (MQTT %i)', async (v) => {
    const [cloud, gw] = await Promise.all([client('akb-cloud'), client('gw')]);
    const watch = await Inbox.open(cloud, 'akb/v1/dev/+/telemetry');
    const metas = await Inbox.open(cloud, 'akb/v1/dev/+/link/meta');
    const frames = await Inbox.open(gw, 'akb/v1/dev/+/link/tx');
    const d1 = await device('d1', v);
    const refusals = [
      await attempt(d1, topics.status('d2'), '{"state":"offline"}', true),
      await attempt(d1, topics.telemetry('d2'), '{"forged":true}'),
      await attempt(d1, topics.linkTx('d2'), 'forged frame'),
      await attempt(d1, topics.linkMeta('d2'), '{"forged":true}'),
    ];
    expect(refusals).toEqual(Array(4).fill(v === 5 ? expect.stringMatching(/Not authorized/) : 'ok'));
    // The barriers: d1's own, which it may publish.
    await d1.publish(topics.telemetry('d1'), 'own', { qos: 1 });
    await d1.publish(topics.linkMeta('d1'), 'own', { qos: 1 });
    await d1.publish(topics.linkTx('d1'), 'own', { qos: 1 });
    const [t] = await watch.waitFor(1);
    const [m] = await metas.waitFor(1);
    const [f] = await frames.waitFor(1);
    expect([t!.topic, m!.topic, f!.topic]).toEqual([topics.telemetry('d1'), topics.linkMeta('d1'), topics.linkTx('d1')]);
    expect([...watch.messages, ...metas.messages, ...frames.messages].filter((x) => x.topic.includes('/d2/'))).toEqual([]);
    // No retained status of d2 is d1's forgery: the retained one is sent on subscribing, before d1's next telemetry.
    const statuses = await Inbox.open(cloud, topics.status('d2'));
    await d1.publish(topics.telemetry('d1'), 'own again', { qos: 1 });
    await watch.waitFor(2);
    expect(statuses.messages.filter((x) => x.payload.toString() === '{"state":"offline"}')).toEqual([]);
  });

  it("keeps d1 from reading d2's commands, while d2 reads them", async () => {
    const ops = await client('ops');
    const d1 = await device('d1');
    const d2 = await device('d2');
    const foreign = await Inbox.open(d1, topics.cmdReq('d2'));
    const wildcard = await Inbox.open(d1, 'akb/v1/dev/+/cmd/req');
    const own = await Inbox.open(d2, topics.cmdReq('d2'));
    await ops.publish(topics.cmdReq('d2'), '{"v":1,"id":"for-d2","op":"ping"}', { qos: 1 });
    await ops.publish(topics.cmdReq('d1'), '{"v":1,"id":"barrier","op":"ping"}', { qos: 1 });
    expect((await own.waitFor(1))[0]!.payload.toString()).toContain('for-d2');
    const [barrier] = await wildcard.waitFor(1);
    expect(barrier!.topic).toBe(topics.cmdReq('d1'));
    expect(foreign.messages).toEqual([]);
    expect(wildcard.messages).toHaveLength(1);
  });

  it.each([4, 5] as const)('keeps d1 from forging its own feedback, OTA offer or block, or commands (MQTT %i)', async (v) => {
    const [cloud, ops] = await Promise.all([client('akb-cloud'), client('ops')]);
    const d1 = await device('d1', v);
    const agent = await device('d1'); // what the device's own processes read
    const watch = await Promise.all(['feedback', 'ota/offer', 'ota/block', 'cmd/req'].map((k) => Inbox.open(agent, `akb/v1/dev/d1/${k}`)));
    const refusals = [
      await attempt(d1, topics.feedback('d1'), '{"forged":"feedback"}'),
      await attempt(d1, topics.ota('d1', 'offer'), '{"forged":"offer"}'),
      await attempt(d1, topics.ota('d1', 'block'), '{"forged":"block"}'),
      await attempt(d1, topics.cmdReq('d1'), '{"forged":"command"}'),
    ];
    expect(refusals).toEqual(Array(4).fill(v === 5 ? expect.stringMatching(/Not authorized/) : 'ok'));
    // The barriers: the cloud's feedback, the tool's offer, block and command, which d1 must get.
    await cloud.publish(topics.feedback('d1'), 'real', { qos: 1 });
    await ops.publish(topics.ota('d1', 'offer'), 'real', { qos: 1 });
    await ops.publish(topics.ota('d1', 'block'), 'real', { qos: 1 });
    await ops.publish(topics.cmdReq('d1'), 'real', { qos: 1 });
    for (const inbox of watch) {
      const [first] = await inbox.waitFor(1);
      expect(first!.payload.toString()).toBe('real');
      expect(inbox.messages).toHaveLength(1);
    }
  });

  it("keeps d1 from making the cloud act for d2: intent on cloud/req refused, cloud/ops/req not writable, d2's kb/req not writable, answers only on the requester's topic", async () => {
    const cloud = await CloudService.start({ brokerUrl: certUrl, clientId: uniqueId('akb-cloud'), tls: await tlsOf(pki, 'akb-cloud'), protocolVersion: 5, kbDir: 'models/zoo/akb-kb-k256' });
    try {
      const received: unknown[] = [];
      const d2 = await device('d2');
      const edge = new RpcServer(d2, { requestTopic: topics.cmdReq('d2'), handlers: { 'intent.set': (args) => (received.push(args), { applied: true }) } });
      await edge.start();
      const d2Answers = await Inbox.open(d2, topics.cloudRes('d2'));
      const d2Kb = await Inbox.open(d2, topics.kb('d2', 'res'));
      const d1 = await device('d1');
      const own = await Inbox.open(d1, topics.cloudRes('d1'));
      const foreign = await Inbox.open(d1, topics.cloudRes('d2'));
      const intent: IntentMessage = {
        v: 1, id: 'hijack', ts: Date.now(), target: { scope: 'device', device: 'd2' }, quality: { metric: 'psnr', min: 10 }, bandwidth: { maxSymbolsPerFrame: 8 }, priority: 'bandwidth',
      };
      const request = (id: string, op: string, from: string, args?: unknown): string => JSON.stringify({ v: 1, id, op, from, ...(args === undefined ? {} : { args }) });
      expect(await attempt(d1, topics.cloudOpsReq(), request('ops', 'intent.set', 'd1', intent))).toMatch(/Not authorized/);
      expect(await attempt(d1, topics.kb('d2', 'req'), request('kb', 'kb.entries', 'd2', { kbVersion: 1, offset: 0, count: 1 }))).toMatch(/Not authorized/);
      await d1.publish(topics.cloudReq(), request('as-d2', 'ping', 'd2'), { qos: 1 });
      await d1.publish(topics.cloudReq(), request('intent', 'intent.set', 'd1', intent), { qos: 1 });
      const [refusal] = await own.waitFor(1);
      expect(decodeMessage('response', refusal!.payload)).toMatchObject({ id: 'intent', status: 'error', error: { code: 'FORBIDDEN' } });
      // The ping that named d2 was answered on d2's topic, which d1 cannot read; d2 saw it as an answer to an id it never issued.
      expect(decodeMessage('response', (await d2Answers.waitFor(1))[0]!.payload)).toMatchObject({ id: 'as-d2', status: 'ok' });
      // The barrier: the tool's intent for d2 reaches d2, the only command it got; d1 got nothing of d2's.
      const ops = new RpcClient(await client('ops'), { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes('ops'), timeoutMs: 8000 });
      const answer = await ops.request<{ forwarded: unknown[] }>('intent.set', { ...intent, id: 'by-ops' });
      expect(answer.forwarded).toEqual([{ device: 'd2', status: 'ok' }]);
      expect(received).toEqual([{ ...intent, id: 'by-ops' }]);
      expect(foreign.messages).toEqual([]);
      expect(own.messages).toHaveLength(1);
      expect(d2Kb.messages).toEqual([]);
      expect(cloud.stats()).toMatchObject({ requests: { 'cloud/req': { forbidden: 1 } } });
      await ops.stop();
      await edge.stop();
    } finally {
      await cloud.stop();
    }
  }, 30_000);

  it('holds the same rules for a device logged in by password over TLS', async () => {
    const ca = (await tlsOf(pki, 'd1')).ca;
    const d1 = await connectDevice({ url: passwordUrl, deviceId: 'd1', clientId: uniqueId('d1'), username: 'd1', password: pki.users.d1!.password, tls: { ca }, protocolVersion: 5, birth: testBirth('d1'), reconnectPeriodMs: 0 });
    open.push(d1);
    expect(await attempt(d1, topics.telemetry('d2'), 'forged')).toMatch(/Not authorized/);
    expect(await attempt(d1, topics.feedback('d1'), 'forged')).toMatch(/Not authorized/);
    expect(await attempt(d1, topics.telemetry('d1'), 'own')).toBe('ok');
  });
}));
