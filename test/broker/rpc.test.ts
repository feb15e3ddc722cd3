/**
 * Request/response over a real broker: RpcServer's dispatch table and RpcClient's pending map, on aedes
 * (MQTT 3.1.1: correlation id in the payload) and on Mosquitto (also MQTT 5 correlation data). Answers go
 * only where the request topic says (cmd/req → cmd/res): a payload's replyTo or an MQTT 5 response topic
 * naming anything else is ignored and counted, never published to.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { AkbError, ResponseEnvelope, topics } from '@akb/protocol';
import { connectMqtt, RpcClient, RpcServer, type AkbMqttClient, type RpcHandlers, type RpcServerOptions } from '@akb/protocol/mqtt';
import { brokerKinds, describeBrokers, Inbox, uniqueId, type BrokerHandle, type BrokerKind } from '../support/index.js';

const handlers: RpcHandlers = {
  echo: (args) => ({ echoed: args }),
  'sum.ints': (args) => (args as number[]).reduce((a, b) => a + b, 0),
  'fail.sync': () => {
    throw new Error('disk on fire');
  },
  'fail.async': () => Promise.reject(new AkbError('KB_MISSING', 'no KB version 9 here', { hint: 'sync the KB first' })),
  'fail.string': () => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- a careless handler is what this tests
    throw 'not an Error';
  },
  slow: async (args) => {
    await new Promise((r) => setTimeout(r, Number(args)));
    return 'finally';
  },
  cycle: () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  },
  whoami: (_args, ctx) => ({ from: ctx.from, id: ctx.id }),
};

async function rejection(p: Promise<unknown>): Promise<AkbError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AkbError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

function rpcSuite(kind: BrokerKind, protocolVersion: 4 | 5): void {
  let broker: BrokerHandle;
  let serverConn: AkbMqttClient;
  let clientConn: AkbMqttClient;
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    broker = await kind.start();
    serverConn = await connectMqtt({ url: broker.url, clientId: uniqueId('srv'), protocolVersion });
    clientConn = await connectMqtt({ url: broker.url, clientId: uniqueId('cli'), protocolVersion });
  });
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });
  afterAll(async () => {
    await serverConn?.close();
    await clientConn?.close();
    await broker?.close();
  });

  async function pair(opts: Partial<RpcServerOptions> = {}, timeoutMs = 3000): Promise<{ server: RpcServer; client: RpcClient; device: string }> {
    const device = uniqueId('dev');
    const server = new RpcServer(serverConn, {
      requestTopic: topics.cmdReq(device),
      defaultReplyTopic: topics.cmdRes(device),
      handlers,
      ...opts,
    });
    await server.start();
    const client = new RpcClient(clientConn, {
      requestTopic: topics.cmdReq(device),
      replyTopic: topics.cloudRes(uniqueId('c')),
      from: 'tester',
      timeoutMs,
    });
    cleanup.push(() => client.stop(), () => server.stop());
    return { server, client, device };
  }

  it('round-trips requests, concurrently, each to its own answer', async () => {
    // Thrown at it: 50 concurrent requests of two operations on one reply topic.
    const { client, server } = await pair();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? client.request('echo', { i }) : client.request('sum.ints', [i, 1, 2]))));
    answers.forEach((a, i) => expect(a).toEqual(i % 2 ? { echoed: { i } } : i + 3));
    expect(await client.request('whoami')).toMatchObject({ from: 'tester' });
    // The server counts an answer once the broker acknowledged it, which may be after the client has it.
    await expect.poll(() => server.stats).toMatchObject({ received: 51, ok: 51, answered: 51, errors: 0 });
  });

  it('answers an unknown operation with UNKNOWN_OP, also for prototype names', async () => {
    // Thrown at it: an op with no handler, and "constructor", which a plain object lookup would find.
    const { client, server } = await pair();
    const e = await rejection(client.request('no.such-op'));
    expect(e.code).toBe('UNKNOWN_OP');
    expect(e.hint).toContain('echo');
    expect((await rejection(client.request('constructor'))).code).toBe('UNKNOWN_OP');
    expect(server.stats.unknownOp).toBe(2);
  });

  it('answers throwing and rejecting handlers, and keeps serving', async () => {
    // Thrown at it: a handler throwing an Error, one rejecting with an AkbError, one throwing a string,
    // one returning a cyclic object that JSON cannot carry.
    const seen: string[] = [];
    const { client, server } = await pair({ onError: (_e, c) => void seen.push(c.what) });
    const sync = await rejection(client.request('fail.sync'));
    expect([sync.code, sync.message]).toEqual(['INTERNAL', 'disk on fire']);
    const async = await rejection(client.request('fail.async'));
    expect([async.code, async.message, async.hint]).toEqual(['KB_MISSING', 'no KB version 9 here', 'sync the KB first']);
    expect((await rejection(client.request('fail.string'))).message).toBe('not an Error');
    expect((await rejection(client.request('cycle'))).code).toBe('BAD_RESPONSE');
    expect(await client.request('echo', 1)).toEqual({ echoed: 1 });
    expect(server.stats.handlerFailures).toBe(4);
    expect(seen).toContain('handler failed');
  });

  it('rejects with TIMEOUT, then ignores and counts the late answer', async () => {
    // Thrown at it: a handler slower (300 ms) than the request timeout (100 ms).
    const { client } = await pair();
    const e = await rejection(client.request('slow', 300, { timeoutMs: 100 }));
    expect(e.code).toBe('TIMEOUT');
    expect(e.hint).toBeDefined();
    await expect.poll(() => client.stats.late, { timeout: 3000 }).toBe(1);
    expect(client.inFlight).toBe(0);
  });

  it('times out when nobody serves the request topic', async () => {
    // Thrown at it: a request to a topic with no server at all.
    const client = new RpcClient(clientConn, { requestTopic: topics.cmdReq(uniqueId('nobody')), replyTopic: topics.cloudRes(uniqueId('c')) });
    cleanup.push(() => client.stop());
    expect((await rejection(client.request('echo', 1, { timeoutMs: 150 }))).code).toBe('TIMEOUT');
    expect(client.stats.timeouts).toBe(1);
  });

  it('answers a request past its deadline with EXPIRED without running it', async () => {
    // Thrown at it: a request whose deadline is one second in the past.
    let ran = false;
    const { client } = await pair({ handlers: { ...handlers, touch: () => (ran = true) } });
    const e = await rejection(client.request('touch', undefined, { deadline: Date.now() - 1000 }));
    expect(e.code).toBe('EXPIRED');
    expect(ran).toBe(false);
    expect(await client.request('touch', undefined, { deadline: Date.now() + 60_000 })).toBe(true);
  });

  it('answers malformed requests with BAD_REQUEST when it can, and drops the rest', async () => {
    // Thrown at it: bytes that are not UTF-8 JSON, JSON nested 100 deep, JSON without an id, a bad op name
    // with an id, a wrong envelope version, a replyTo with wildcards, an unknown field; every replyTo names
    // a topic other than the device's cmd/res, so every answer must still come on cmd/res and nowhere else.
    const { server, device } = await pair();
    const replyTo = topics.cloudRes(uniqueId('raw'));
    const inbox = await Inbox.open(clientConn, topics.cmdRes(device));
    const elsewhere = await Inbox.open(clientConn, replyTo);
    const send = (p: string | Uint8Array): Promise<void> => clientConn.publish(topics.cmdReq(device), p, { qos: 1 });
    await send(new Uint8Array([0xff, 0x00, 0x7b]));
    await send(`${'['.repeat(100)}${']'.repeat(100)}`);
    await send(JSON.stringify({ v: 1, op: 'echo', replyTo }));
    await send(JSON.stringify({ v: 1, id: 'bad-op', op: 'Echo Now!', replyTo }));
    await send(JSON.stringify({ v: 2, id: 'bad-v', op: 'echo', replyTo }));
    await send(JSON.stringify({ v: 1, id: 'bad-reply', op: 'echo', replyTo: 'akb/v1/+/x' }));
    await send(JSON.stringify({ v: 1, id: 'extra', op: 'echo', replyTo, sneaky: true }));
    const got = (await inbox.waitFor(4)).map((m) => ResponseEnvelope.parse(JSON.parse(m.payload.toString())));
    inbox.close();
    // Handlers and refusals may finish in any order.
    got.sort((a, b) => a.id.localeCompare(b.id));
    expect(got.map((r) => [r.id, r.status])).toEqual([['bad-op', 'error'], ['bad-reply', 'ok'], ['bad-v', 'error'], ['extra', 'error']]);
    for (const r of got.filter((g) => g.status === 'error')) expect(r).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(await elsewhere.quiet(200)).toEqual([]);
    elsewhere.close();
    await expect.poll(() => server.stats).toMatchObject({ received: 7, badRequest: 6, dropped: 3, answered: 4, replyToIgnored: 4 });
  });

  it('ignores and counts answers nobody asked for, valid or not', async () => {
    // Thrown at it: a well-formed answer with an unknown id and a garbage message on the reply topic.
    const { client } = await pair();
    await client.start();
    const replyTopic = (client as unknown as { options: { replyTopic: string } }).options.replyTopic;
    await serverConn.publish(replyTopic, JSON.stringify({ v: 1, id: 'never-sent', status: 'ok', data: 1 }), { qos: 1 });
    await serverConn.publish(replyTopic, 'garbage', { qos: 1 });
    await expect.poll(() => client.stats.unknown + client.stats.malformed).toBe(2);
    expect(await client.request('echo', 'still fine')).toEqual({ echoed: 'still fine' });
  });

  it('rejects pending requests when the client stops', async () => {
    // Thrown at it: stop() while a slow request is in flight.
    const { client } = await pair();
    const pending = rejection(client.request('slow', 500));
    await new Promise((r) => setTimeout(r, 50));
    await client.stop();
    expect((await pending).code).toBe('CLOSED');
  });
}

describeBrokers('RPC over MQTT 3.1.1', (kind) => rpcSuite(kind, 4));

describeBrokers(
  'RPC over MQTT 5',
  (kind) => {
    rpcSuite(kind, 5);

    it('answers on cmd/res with the correlation data, whatever response topic or replyTo the request names', async () => {
      // Thrown at it: raw v5 requests whose response topic and payload replyTo name other topics, one of
      // them malformed (no id in the payload: the id comes from the correlation data).
      const broker = await kind.start();
      try {
        const srv = await connectMqtt({ url: broker.url, clientId: uniqueId('srv'), protocolVersion: 5 });
        const cli = await connectMqtt({ url: broker.url, clientId: uniqueId('cli'), protocolVersion: 5 });
        const device = uniqueId('dev');
        const server = new RpcServer(srv, { requestTopic: topics.cmdReq(device), handlers });
        await server.start();
        const v5Topic = topics.cloudRes(uniqueId('v5'));
        const payloadTopic = topics.cloudRes(uniqueId('v3'));
        const v5 = await Inbox.open(cli, v5Topic);
        const v3 = await Inbox.open(cli, payloadTopic);
        const answers = await Inbox.open(cli, topics.cmdRes(device));
        const req = { v: 1, id: 'req-1', op: 'echo', args: 'hi', replyTo: payloadTopic };
        await cli.publish(topics.cmdReq(device), JSON.stringify(req), { qos: 1, responseTopic: v5Topic, correlationData: Buffer.from('corr-1') });
        await cli.publish(topics.cmdReq(device), JSON.stringify({ v: 1, op: 'echo' }), {
          qos: 1, responseTopic: v5Topic, correlationData: Buffer.from('corr-2'),
        });
        // Handlers run concurrently, so the answers may come in either order.
        const byCorrelation = (await answers.waitFor(2)).sort((a, b) => String(a.correlationData).localeCompare(String(b.correlationData)));
        const [ok, bad] = byCorrelation;
        expect(ok!.correlationData?.toString()).toBe('corr-1');
        expect(JSON.parse(ok!.payload.toString())).toEqual({ v: 1, id: 'req-1', status: 'ok', data: { echoed: 'hi' } });
        expect(bad!.correlationData?.toString()).toBe('corr-2');
        expect(JSON.parse(bad!.payload.toString())).toMatchObject({ id: 'corr-2', status: 'error', error: { code: 'BAD_REQUEST' } });
        expect(await v3.quiet(200)).toEqual([]);
        expect(v5.messages).toEqual([]);
        expect(server.stats.replyToIgnored).toBe(2);
        await srv.close();
        await cli.close();
      } finally {
        await broker.close();
      }
    });
  },
  // aedes speaks MQTT 3.1.1 only, so the MQTT 5 suite runs on Mosquitto alone.
  brokerKinds.filter((k) => k.v5),
);
