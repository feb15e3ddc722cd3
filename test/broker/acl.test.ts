/**
 * The per-device access rule of the topic tree on Mosquitto, running exactly the ACL file that
 * `akb topics --acl --tool ops` prints (toolkit/src/commands/topics.ts; protocol/PROTOCOL.md, "Access
 * control"), with password users for two devices (d1, d2), the cloud (akb-cloud) and a tool (ops):
 *
 *   pattern write|read akb/v1/dev/%u/…    each device writes what it produces, reads what is addressed to it
 *   pattern write akb/v1/cloud/req        devices may ask the cloud what concerns themselves only
 *   user akb-cloud / topic read|write …   the cloud gets exactly the topics it reads and writes
 *   user ops / topic write …/cloud/ops/req  only tools send the operations that act on the fleet
 *
 * Mosquitto 2.0 grants a subscription outside what a user may read but delivers nothing on it (read
 * access is checked per message); a publish outside what a user may write is dropped silently over MQTT
 * 3.1.1 and refused with reason "Not authorized" over MQTT 5. There is no admin user: what must not
 * arrive is watched by the one who would receive it (d2 on its own subtree).
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { AkbError, decodeMessage, topics, type IntentMessage } from '@akb/protocol';
import { connectDevice, connectMqtt, RpcClient, RpcServer, type AkbMqttClient } from '@akb/protocol/mqtt';
import { CloudService, DEFAULT_WEIGHTS } from '@akb/cloud';
import { topicsCommand } from '../../toolkit/src/commands/topics.js';
import { runAkbCommand } from '../cloud/support.js';
import { describeWithProgram, Inbox, startMosquitto, testBirth, uniqueId, type BrokerHandle } from '../support/index.js';

const PASSWORDS = { d1: 'pw-d1-secret', d2: 'pw-d2-secret', 'akb-cloud': 'pw-cloud-secret', ops: 'pw-ops-secret' };
type User = keyof typeof PASSWORDS;

describeWithProgram('mosquitto', 'mosquitto', 'per-device ACL on Mosquitto (the file akb topics --acl prints)', () => {
  let broker: BrokerHandle;
  let acl: string;
  const open: AkbMqttClient[] = [];

  beforeAll(async () => {
    const printed = await runAkbCommand(topicsCommand, ['topics', '--acl', '--tool', 'ops']);
    expect(printed.code).toBe(0);
    acl = printed.out.join('\n');
    broker = await startMosquitto({ allowAnonymous: false, passwords: PASSWORDS, acl });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close({ force: true })));
  });
  afterAll(async () => {
    await broker?.close();
  });

  async function client(user: User, protocolVersion: 4 | 5 = 4): Promise<AkbMqttClient> {
    const c = await connectMqtt({ url: broker.url, clientId: uniqueId(user), username: user, password: PASSWORDS[user], protocolVersion });
    open.push(c);
    return c;
  }

  async function device(id: 'd1' | 'd2', protocolVersion: 4 | 5 = 4): Promise<AkbMqttClient> {
    const c = await connectDevice({
      url: broker.url, deviceId: id, clientId: uniqueId(id), username: id, password: PASSWORDS[id], birth: testBirth(id), protocolVersion,
    });
    open.push(c);
    return c;
  }

  it('is the complete file: the device patterns and the cloud user with what it needs, no blanket grant', () => {
    expect(acl).toContain('pattern write akb/v1/dev/%u/status');
    expect(acl).toContain('pattern read akb/v1/dev/%u/cmd/req');
    expect(acl).not.toMatch(/^pattern readwrite/m);
    expect(acl).toContain('user akb-cloud');
    expect(acl).toContain('topic read akb/v1/dev/+/cmd/res');
    expect(acl).toContain('topic write akb/v1/dev/+/cmd/req');
    expect(acl).not.toMatch(/^topic readwrite akb\/v1\/#$|^topic readwrite #$/m);
    expect(acl).toContain('topic read akb/v1/cloud/ops/req');
    expect(acl.slice(acl.indexOf('user ops'))).toContain('topic write akb/v1/cloud/ops/req');
    expect(acl).not.toMatch(/^pattern \S*write\S* akb\/v1\/cloud\/ops/m);
  });

  it('carries an intent the cloud forwards to d1 and d1\'s answer back to the cloud', async () => {
    // Thrown at it: the real CloudService logged in as akb-cloud, asked by the tool "ops" to set a device
    // intent for d1; d1 answers on its own cmd/res. The cloud used to wait on cloud/res/<id>-cmd, where
    // no device may publish, so the answer never came (status "error", code TIMEOUT).
    const received: unknown[] = [];
    const d1 = await device('d1');
    const edge = new RpcServer(d1, { requestTopic: topics.cmdReq('d1'), handlers: { 'intent.set': (args) => (received.push(args), { applied: true }) } });
    await edge.start();
    const cloud = await CloudService.start({ brokerUrl: broker.url, clientId: uniqueId('akb-cloud'), username: 'akb-cloud', password: PASSWORDS['akb-cloud'] });
    try {
      const ops = await client('ops');
      const rpc = new RpcClient(ops, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes('ops'), timeoutMs: 8000 });
      const intent: IntentMessage = {
        v: 1, id: 'night', ts: Date.now(), target: { scope: 'device', device: 'd1' }, quality: { metric: 'psnr', min: 22 }, bandwidth: { maxSymbolsPerFrame: 256 }, priority: 'bandwidth',
      };
      const answer = await rpc.request<{ forwarded: unknown[] }>('intent.set', intent);
      expect(answer.forwarded).toEqual([{ device: 'd1', status: 'ok' }]);
      expect(received).toEqual([intent]);
      await rpc.stop();
    } finally {
      await cloud.stop();
      await edge.stop();
    }
  });

  it.each([4, 5] as const)('keeps d1 from making the cloud command d2; the tool ops still can (MQTT %i)', async (protocolVersion) => {
    // Thrown at it (issue #9): d1 sending intent.set targeting d2 on cloud/req, which every device may
    // write (the cloud used to forward it into d2's cmd/req), and on cloud/ops/req, which the ACL grants
    // tools only; d2 watches its whole subtree. Then the tool "ops" sends the same intent on cloud/ops/req.
    const received: unknown[] = [];
    const d2 = await device('d2');
    const edge = new RpcServer(d2, { requestTopic: topics.cmdReq('d2'), handlers: { 'intent.set': (args) => (received.push(args), { applied: true }) } });
    await edge.start();
    const watch = await Inbox.open(await client('d2'), topics.device('d2'));
    const cloud = await CloudService.start({ brokerUrl: broker.url, clientId: uniqueId('akb-cloud'), username: 'akb-cloud', password: PASSWORDS['akb-cloud'] });
    const commands = (): string[] => watch.messages.filter((m) => m.topic === topics.cmdReq('d2')).map((m) => m.payload.toString('utf8'));
    try {
      const intent: IntentMessage = {
        v: 1, id: 'hijack', ts: Date.now(), target: { scope: 'device', device: 'd2' }, quality: { metric: 'psnr', min: 10 }, bandwidth: { maxSymbolsPerFrame: 8 }, priority: 'bandwidth',
      };
      const d1 = await client('d1', protocolVersion);
      const answers = await Inbox.open(d1, topics.cloudRes('d1'));
      const request = (id: string): string => JSON.stringify({ v: 1, id, op: 'intent.set', from: 'd1', args: intent });
      await d1.publish(topics.cloudReq(), request('via-cloud-req'), { qos: 1 });
      const viaOps = d1.publish(topics.cloudOpsReq(), request('via-ops-req'), { qos: 1 });
      if (protocolVersion === 5) await expect(viaOps).rejects.toThrow(/Not authorized/);
      else await viaOps; // MQTT 3.1.1: acknowledged and dropped by the broker

      const [refusal] = await answers.waitFor(1);
      await watch.quiet(500);
      expect(commands()).toEqual([]);
      expect(received).toEqual([]);
      expect(decodeMessage('response', refusal!.payload)).toMatchObject({
        id: 'via-cloud-req', status: 'error', error: { code: 'FORBIDDEN', hint: expect.stringContaining(topics.cloudOpsReq()) as string },
      });
      expect(answers.messages).toHaveLength(1); // the cloud never saw the request on cloud/ops/req
      expect(cloud.intents.weightsFor('d2')).toEqual(DEFAULT_WEIGHTS);
      expect(cloud.stats()).toMatchObject({ requests: { 'cloud/req': { forbidden: 1 }, 'cloud/ops/req': { received: 0 } } });

      const ops = new RpcClient(await client('ops'), { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes('ops'), timeoutMs: 8000 });
      const answer = await ops.request<{ forwarded: unknown[] }>('intent.set', intent);
      expect(answer.forwarded).toEqual([{ device: 'd2', status: 'ok' }]);
      expect(received).toEqual([intent]);
      expect(commands()).toHaveLength(1);
      await ops.stop();
    } finally {
      watch.close();
      await cloud.stop();
      await edge.stop();
    }
  });

  it.each([4, 5] as const)('answers d1 on cloud/res/d1 only, whatever reply topic it names (MQTT %i)', async (protocolVersion) => {
    // Thrown at it: d1 asking the cloud for `ping` with replyTo naming d2's cmd/req (and, on MQTT 5, the
    // response topic too); d2 watches its whole subtree.
    const cloud = await CloudService.start({ brokerUrl: broker.url, clientId: uniqueId('akb-cloud'), username: 'akb-cloud', password: PASSWORDS['akb-cloud'], protocolVersion });
    try {
      const d2 = await client('d2');
      const watch = await Inbox.open(d2, topics.device('d2'));
      const d1 = await client('d1', protocolVersion);
      const answers = await Inbox.open(d1, topics.cloudRes('d1'));
      const request = { v: 1, id: `evil-${protocolVersion}`, op: 'ping', from: 'd1', replyTo: topics.cmdReq('d2') };
      await d1.publish(topics.cloudReq(), JSON.stringify(request), { qos: 1, responseTopic: topics.cmdReq('d2'), correlationData: Buffer.from(request.id) });
      const [answer] = await answers.waitFor(1);
      expect(decodeMessage('response', answer!.payload)).toMatchObject({ id: request.id, status: 'ok', data: { pong: true } });
      expect(await watch.quiet(500)).toEqual([]);
      watch.close();
    } finally {
      await cloud.stop();
    }
  });

  it.each([4, 5] as const)('stops d1 writing under d2 (MQTT %i)', async (protocolVersion) => {
    // Thrown at it: d1 publishing a frame, a fake death and a command onto d2's topics; d2 watches.
    const d2 = await client('d2');
    const inbox = await Inbox.open(d2, topics.device('d2'));
    const d1 = await device('d1', protocolVersion);
    const attempt = d1.publish(topics.linkTx('d2'), new Uint8Array([1, 2, 3]), { qos: 1 });
    if (protocolVersion === 5) await expect(attempt).rejects.toThrow(/Not authorized/);
    else await attempt; // MQTT 3.1.1 has no way to refuse a publish: the broker acknowledges and drops it
    await d1.publish(topics.status('d2'), '{"state":"offline"}', { qos: 0, retain: true });
    await d1.publish(topics.cmdReq('d2'), '{"v":1,"id":"x","op":"ping"}', { qos: 0 });
    expect(await inbox.quiet(300)).toEqual([]);
    inbox.close();
  });

  it('stops d1 reading d2, while d1 still reads its own subtree', async () => {
    // Thrown at it: d1 subscribing to d2's whole subtree and to every device's telemetry; then the cloud
    // user publishes feedback for d2, the tool a command for d2, d2 its telemetry and d1 its own.
    const d1 = await device('d1');
    const foreign = await Inbox.open(d1, topics.device('d2'));
    const wildcard = await Inbox.open(d1, 'akb/v1/dev/+/cmd/req');
    const [cloud, ops, d2] = await Promise.all([client('akb-cloud'), client('ops'), client('d2')]);
    await cloud.publish(topics.feedback('d2'), 'for d2', { qos: 1 });
    await ops.publish(topics.cmdReq('d2'), 'for d2', { qos: 1 });
    await d2.publish(topics.telemetry('d2'), 'from d2', { qos: 1 });
    await ops.publish(topics.cmdReq('d1'), 'for d1', { qos: 1 });
    const [own] = await wildcard.waitFor(1);
    expect(own!.topic).toBe(topics.cmdReq('d1'));
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

  it("answers a command on the device's own cmd/res, whatever replyTo names", async () => {
    // Thrown at it: the tool asking d1 for `ping` with replyTo on a cloud topic (which d1 may not write);
    // the answer comes on d1's cmd/res, where the tool reads it.
    const d1 = await device('d1');
    const server = new RpcServer(d1, { requestTopic: topics.cmdReq('d1'), handlers: { ping: () => 'pong' } });
    await server.start();
    const ops = await client('ops');
    const answers = await Inbox.open(ops, topics.cmdRes('d1'));
    await ops.publish(topics.cmdReq('d1'), JSON.stringify({ v: 1, id: 'c-1', op: 'ping', from: 'ops', replyTo: topics.cloudRes(uniqueId('cloud')) }), { qos: 1 });
    const [answer] = await answers.waitFor(1);
    expect(decodeMessage('response', answer!.payload)).toMatchObject({ id: 'c-1', status: 'ok', data: 'pong' });
    expect(server.stats.replyToIgnored).toBe(1);
    const rpc = new RpcClient(ops, { requestTopic: topics.cmdReq('d1'), replyTopic: topics.cmdRes('d1') });
    expect(await rpc.request('ping')).toBe('pong');
    await rpc.stop();
    await server.stop();
  });
});
