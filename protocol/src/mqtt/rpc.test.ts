/**
 * The RPC pair over an in-memory transport: dispatch, deadlines, and above all where answers go. The
 * reply topic is fixed by the request topic (reply-topic.ts); a request cannot steer the answer into
 * another topic with `replyTo` or an MQTT 5 response topic. The table itself is pinned by
 * vectors/rules/reply-topics.json (rules.vectors.test.ts); these tests cover what the server and client
 * do around it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../testing/memory-transport.js';
import { AkbError } from '../errors.js';
import { topics } from '../topics.js';
import { RpcClient } from './rpc-client.js';
import { RpcServer, type RpcServerOptions } from './rpc-server.js';

const handlers = { ping: () => 'pong', whoami: (_a: unknown, ctx: { from: string | undefined; replyTopic: string }) => ctx };

function server(t: MemoryTransport, options: Partial<RpcServerOptions> = {}): { server: RpcServer; errors: string[] } {
  const errors: string[] = [];
  const s = new RpcServer(t, { requestTopic: topics.cmdReq('d1'), handlers, onError: (_e, c) => void errors.push(c.what), ...options });
  return { server: s, errors };
}

/** Feeds one raw request to the server, as the broker would deliver it. */
async function deliver(t: MemoryTransport, s: RpcServer, topic: string, body: unknown, v5: { responseTopic?: string; correlationData?: string } = {}): Promise<void> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const options = { ...(v5.responseTopic === undefined ? {} : { responseTopic: v5.responseTopic }), ...(v5.correlationData === undefined ? {} : { correlationData: Buffer.from(v5.correlationData) }) };
  await s.handle(t.message(topic, payload, options));
}

describe('RpcServer: answers go where the request topic says, never where the message says', () => {
  it('answers a replyTo naming another device\'s cmd/req on the fixed cmd/res only, and counts it', async () => {
    // Thrown at it: the attack this rule closes. Before, the answer was published into d2's command topic.
    const t = new MemoryTransport();
    const { server: s, errors } = server(t);
    await deliver(t, s, topics.cmdReq('d1'), { v: 1, id: 'x-1', op: 'ping', replyTo: topics.cmdReq('d2') });
    expect(t.topics()).toEqual([topics.cmdRes('d1')]);
    expect(JSON.parse(t.published[0]!.payload)).toEqual({ v: 1, id: 'x-1', status: 'ok', data: 'pong' });
    expect(s.stats).toMatchObject({ replyToIgnored: 1, answered: 1, dropped: 0 });
    expect(errors).toEqual(['reply topic ignored']);
  });

  it('ignores a forged MQTT 5 response topic but still echoes the correlation data', async () => {
    const t = new MemoryTransport(5);
    const { server: s } = server(t);
    await deliver(t, s, topics.cmdReq('d1'), { v: 1, id: 'x-2', op: 'ping' }, { responseTopic: topics.cmdReq('d2'), correlationData: 'corr-2' });
    expect(t.topics()).toEqual([topics.cmdRes('d1')]);
    expect(Buffer.from(t.published[0]!.options.correlationData!).toString()).toBe('corr-2');
    expect(s.stats.replyToIgnored).toBe(1);
  });

  it('honours replyTo and the response topic when they name the fixed topic, without counting', async () => {
    const t = new MemoryTransport(5);
    const { server: s } = server(t);
    await deliver(t, s, topics.cmdReq('d1'), { v: 1, id: 'x-3', op: 'ping', replyTo: topics.cmdRes('d1') }, { responseTopic: topics.cmdRes('d1'), correlationData: 'c' });
    expect(t.topics()).toEqual([topics.cmdRes('d1')]);
    expect(s.stats.replyToIgnored).toBe(0);
  });

  it('sends BAD_REQUEST answers to the fixed topic too', async () => {
    // Thrown at it: an envelope with an unknown field, a bad op name and a replyTo on another device.
    const t = new MemoryTransport();
    const { server: s } = server(t);
    await deliver(t, s, topics.cmdReq('d1'), { v: 1, id: 'x-4', op: 'Not An Op', replyTo: topics.cmdReq('d2'), sneaky: true });
    expect(t.topics()).toEqual([topics.cmdRes('d1')]);
    expect(JSON.parse(t.published[0]!.payload)).toMatchObject({ id: 'x-4', status: 'error', error: { code: 'BAD_REQUEST' } });
    expect(s.stats).toMatchObject({ badRequest: 1, replyToIgnored: 1 });
  });

  it('drops and counts a cloud/req request without from, and refuses a from that is no client id', async () => {
    // Thrown at it: no from; from with '/', '+', '#'; from of 65 characters (also a schema violation).
    const t = new MemoryTransport();
    const { server: s } = server(t, { requestTopic: topics.cloudReq() });
    const bad: unknown[] = [undefined, 'a/b', 'x+y', '#', 'x'.repeat(65)];
    for (const [i, from] of bad.entries()) {
      await deliver(t, s, topics.cloudReq(), { v: 1, id: `c-${i}`, op: 'ping', replyTo: topics.cloudRes('victim'), ...(from === undefined ? {} : { from }) });
    }
    expect(t.published).toEqual([]);
    expect(s.stats).toMatchObject({ received: 5, dropped: 5, answered: 0, badRequest: 1 });
    await deliver(t, s, topics.cloudReq(), { v: 1, id: 'c-ok', op: 'whoami', from: 'tool-1', replyTo: topics.cloudRes('victim') });
    expect(t.topics()).toEqual([topics.cloudRes('tool-1')]);
    expect(JSON.parse(t.published[0]!.payload)).toMatchObject({ data: { from: 'tool-1', replyTopic: topics.cloudRes('tool-1') } });
  });

  it('answers only the requesters accept allows: others are dropped unanswered and counted, no handler runs', async () => {
    // Thrown at it: a request from a device outside the allowed set, one naming no from, and a malformed
    // request (unknown field) from an outsider, which would otherwise be answered BAD_REQUEST.
    const t = new MemoryTransport();
    let ran = 0;
    const { server: s } = server(t, { requestTopic: topics.cloudReq(), accept: (from) => from === 'tool-1', handlers: { ping: () => ++ran } });
    await deliver(t, s, topics.cloudReq(), { v: 1, id: 'o-1', op: 'ping', from: 'cam-9' });
    await deliver(t, s, topics.cloudReq(), { v: 1, id: 'o-2', op: 'ping' });
    await deliver(t, s, topics.cloudReq(), { v: 1, id: 'o-3', op: 'ping', from: 'cam-9', sneaky: true });
    expect(t.published).toEqual([]);
    expect(ran).toBe(0);
    expect(s.stats).toMatchObject({ received: 3, refused: 3, answered: 0 });
    await deliver(t, s, topics.cloudReq(), { v: 1, id: 'o-4', op: 'ping', from: 'tool-1' });
    expect(t.topics()).toEqual([topics.cloudRes('tool-1')]);
    expect(ran).toBe(1);
  });

  it('answers fleet requests on its own cmd/res when it knows its device id', async () => {
    const t = new MemoryTransport();
    const { server: s } = server(t, { requestTopic: topics.fleetCmdReq(), deviceId: 'cam-07' });
    await deliver(t, s, topics.fleetCmdReq(), { v: 1, id: 'f-1', op: 'ping', replyTo: topics.cloudRes('akb-cloud-cmd') });
    expect(t.topics()).toEqual([topics.cmdRes('cam-07')]);
  });

  it('uses the configured default only for topics outside the table, and drops without one', async () => {
    const t = new MemoryTransport();
    const withDefault = server(t, { requestTopic: 'lab/req', defaultReplyTopic: 'lab/res' }).server;
    await deliver(t, withDefault, 'lab/req', { v: 1, id: 'o-1', op: 'ping', replyTo: 'lab/elsewhere' });
    const without = server(t, { requestTopic: 'lab/req' }).server;
    await deliver(t, without, 'lab/req', { v: 1, id: 'o-2', op: 'ping', replyTo: 'lab/res' });
    expect(t.topics()).toEqual(['lab/res']);
    expect(without.stats).toMatchObject({ dropped: 1, replyToIgnored: 1 });
  });

  it('takes a caller rule, which never sees replyTo, and drops what it cannot publish to', async () => {
    const t = new MemoryTransport();
    const seen: unknown[] = [];
    const rule = (topic: string, request: { from: string | undefined; op: string | undefined }): string | null => {
      seen.push({ topic, ...request });
      return request.op === 'ping' ? 'lab/answers' : 'lab/+';
    };
    const { server: s } = server(t, { replyRule: rule });
    await deliver(t, s, topics.cmdReq('d1'), { v: 1, id: 'r-1', op: 'ping', from: 'tool', replyTo: 'lab/answers' });
    await deliver(t, s, topics.cmdReq('d1'), { v: 1, id: 'r-2', op: 'whoami' });
    expect(t.topics()).toEqual(['lab/answers']);
    expect(seen).toEqual([
      { topic: topics.cmdReq('d1'), from: 'tool', op: 'ping' },
      { topic: topics.cmdReq('d1'), from: undefined, op: 'whoami' },
    ]);
    expect(s.stats).toMatchObject({ dropped: 1, replyToIgnored: 0 });
  });
});

describe('RpcServer and RpcClient in memory', () => {
  it('judges deadlines by the injected clock, answers, and echoes correlation data on MQTT 5', async () => {
    const t = new MemoryTransport(5);
    let now = 1_000;
    const s = new RpcServer(t, { requestTopic: topics.cmdReq('d1'), handlers: { ping: () => 'pong' }, now: () => now });
    await s.start();
    const client = new RpcClient(t, { requestTopic: topics.cmdReq('d1'), replyTopic: topics.cmdRes('d1'), idPrefix: 'c' });
    expect(await client.request('ping', undefined, { deadline: 1_500 })).toBe('pong');
    now = 2_000;
    const e = await client.request('ping', undefined, { deadline: 1_500 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AkbError);
    expect((e as AkbError).code).toBe('EXPIRED');
    const answers = t.published.filter((p) => p.topic === topics.cmdRes('d1'));
    expect(answers.map((a) => a.options.correlationData && Buffer.from(a.options.correlationData).toString())).toEqual(['c-1', 'c-2']);
  });

  it('refuses to send an invalid operation name', async () => {
    const client = new RpcClient(new MemoryTransport(), { requestTopic: topics.cmdReq('d1'), replyTopic: topics.cmdRes('d1') });
    await expect(client.request('Not An Op')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('listens where the answer will come, whatever reply topic it was given, and names it as replyTo', async () => {
    // Thrown at it: the reply topic callers used to give (a cloud/res topic) for a device's cmd/req.
    const t = new MemoryTransport(5);
    await new RpcServer(t, { requestTopic: topics.cmdReq('d1'), handlers }).start();
    const client = new RpcClient(t, { requestTopic: topics.cmdReq('d1'), replyTopic: topics.cloudRes('probe'), idPrefix: 'p' });
    expect(await client.request('ping')).toBe('pong');
    const request = t.published.find((p) => p.topic === topics.cmdReq('d1'))!;
    expect(JSON.parse(request.payload)).toMatchObject({ replyTo: topics.cmdRes('d1'), from: 'probe' });
    expect(request.options.responseTopic).toBe(topics.cmdRes('d1'));
    expect(t.subscribed).toEqual([topics.cmdReq('d1'), topics.cloudRes('probe'), topics.cmdRes('d1')]);
    await client.stop();
    expect(t.unsubscribed.sort()).toEqual([topics.cloudRes('probe'), topics.cmdRes('d1')].sort());
  });

  it('sends from = the client of its cloud/res reply topic, so the cloud can answer', async () => {
    const t = new MemoryTransport();
    await new RpcServer(t, { requestTopic: topics.cloudReq(), handlers }).start();
    const client = new RpcClient(t, { requestTopic: topics.cloudReq(), replyTopic: topics.cloudRes('tool-9') });
    expect(await client.request('whoami')).toMatchObject({ from: 'tool-9', replyTopic: topics.cloudRes('tool-9') });
  });

  it('refuses to send on cloud/req without a from the cloud could answer to', async () => {
    const client = new RpcClient(new MemoryTransport(), { requestTopic: topics.cloudReq(), replyTopic: 'lab/answers' });
    await expect(client.request('ping')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const slashed = new RpcClient(new MemoryTransport(), { requestTopic: topics.cloudReq(), replyTopic: 'lab/answers', from: 'a/b' });
    await expect(slashed.request('ping')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('follows per-request topics to each device\'s cmd/res, subscribing once per topic', async () => {
    // Thrown at it: the cloud's intent forwarding, one request per device through one client.
    const t = new MemoryTransport();
    for (const d of ['d1', 'd2']) await new RpcServer(t, { requestTopic: topics.cmdReq(d), handlers }).start();
    const client = new RpcClient(t, { requestTopic: topics.fleetCmdReq(), replyTopic: topics.cloudRes('cloud-cmd'), from: 'cloud' });
    const answers = await Promise.all(['d1', 'd2', 'd1'].map((d) => client.request('ping', undefined, { topic: topics.cmdReq(d) })));
    expect(answers).toEqual(['pong', 'pong', 'pong']);
    expect(t.subscribed.filter((f) => f.endsWith('/cmd/res'))).toEqual([topics.cmdRes('d1'), topics.cmdRes('d2')]);
  });
});
