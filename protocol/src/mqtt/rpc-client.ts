/**
 * Request/response over MQTT, client side. Each request gets a fresh correlation id and waits in a
 * pending map until its answer arrives or its timeout fires (AkbError 'TIMEOUT'). Answers nobody waits
 * for (late, after a timeout, or unknown) are ignored and counted.
 *
 * Where the answer comes back is fixed by the request topic (../reply-topic.ts): `dev/{d}/cmd/req` is
 * answered on `dev/{d}/cmd/res`, `dev/{d}/kb/req` on `dev/{d}/kb/res`, `cloud/req` and `cloud/ops/req` on
 * `cloud/res/{from}`.
 * The client subscribes to that topic before it sends (once per topic, until stop), and names it as
 * `replyTo` (and, on MQTT 5, as the response topic, with the id as correlation data) for compatibility;
 * servers ignore a `replyTo` that names anything else. `replyTopic` is where answers to requests on
 * topics outside that table come back (a server's configured default). Requests on `fleet/cmd/req` are
 * answered by every device on its own `cmd/res`: send one request per device (`topic: cmdReq(d)`) instead.
 */
import { randomBytes } from 'node:crypto';
import { AkbError, isAkbError } from '../errors.js';
import { decodeMessage, encodeMessage } from '../messages.js';
import { clientOfCloudReply, decideReply } from '../reply-topic.js';
import type { ResponseEnvelope } from '../schemas/envelope.js';
import { errorText } from './util.js';
import type { AkbMessage, MqttTransport, QoS } from './transport.js';

export interface RpcClientOptions {
  /** Where requests go, e.g. `topics.cmdReq(deviceId)`. */
  requestTopic: string;
  /**
   * Where answers to requests on topics outside the reply table come back; this client subscribes to it
   * on start. For `cloud/req` and `cloud/ops/req` it should be `topics.cloudRes(from)`.
   */
  replyTopic: string;
  /**
   * Sent as `from`; the cloud answers `cloud/req` and `cloud/ops/req` on `cloud/res/{from}`. Default: the
   * client id of a `replyTopic` of the form `akb/v1/cloud/res/{client}`.
   */
  from?: string;
  /** Default timeout per request (ms, default 10 000). */
  timeoutMs?: number;
  /** QoS of requests and of the reply subscription (default 1). */
  qos?: QoS;
  /** Prefix of correlation ids (default random), so clients sharing a reply topic do not collide. */
  idPrefix?: string;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Milliseconds since the epoch after which the server must not execute the request. */
  deadline?: number;
  /** Overrides the client's request topic for this request. */
  topic?: string;
}

export interface RpcClientStats {
  sent: number;
  ok: number;
  errors: number;
  timeouts: number;
  /** Answers to requests that had already timed out. */
  late: number;
  /** Answers with an id this client never issued (or forgot). */
  unknown: number;
  /** Answers that are not a valid ResponseEnvelope. */
  malformed: number;
}

interface Pending {
  op: string;
  replyTopic: string;
  resolve: (data: unknown) => void;
  reject: (e: AkbError) => void;
  timer: NodeJS.Timeout;
}

/** How many timed-out ids are remembered, to tell a late answer from an unknown one. */
const LATE_MEMORY = 1024;

export class RpcClient {
  private readonly pending = new Map<string, Pending>();
  private readonly timedOut = new Set<string>();
  private readonly counters: RpcClientStats = { sent: 0, ok: 0, errors: 0, timeouts: 0, late: 0, unknown: 0, malformed: 0 };
  private readonly prefix: string;
  private readonly qos: QoS;
  private readonly from: string | undefined;
  private seq = 0;
  /** Reply topics subscribed (or being subscribed), each with the function that stops its routing. */
  private readonly subscriptions = new Map<string, { ready: Promise<void>; stopRouting: () => void }>();
  private closed = false;

  constructor(
    private readonly transport: MqttTransport,
    private readonly options: RpcClientOptions,
  ) {
    this.prefix = options.idPrefix ?? randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
    this.qos = options.qos ?? 1;
    this.from = options.from ?? clientOfCloudReply(options.replyTopic);
  }

  get stats(): Readonly<RpcClientStats> {
    return { ...this.counters };
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Subscribes to the reply topic. `request` calls it on first use. */
  start(): Promise<void> {
    return this.subscribe(this.options.replyTopic);
  }

  /**
   * Where the answer to a request on `topic` comes back: the fixed reply topic, else `replyTopic`. Throws
   * AkbError('BAD_REQUEST') for `cloud/req` or `cloud/ops/req` without a usable `from`, which no server
   * could answer.
   */
  replyTopicOf(topic: string = this.options.requestTopic): string {
    const decision = decideReply(topic, { from: this.from });
    if (decision.topic !== null) return decision.topic;
    if (decision.reason === 'no-from' || decision.reason === 'bad-from') {
      throw new AkbError('BAD_REQUEST', `requests on ${topic} are answered on akb/v1/cloud/res/{from}, and this client has ${this.from === undefined ? 'no from' : `from ${JSON.stringify(this.from)}, which is no client id`}`, {
        hint: 'give the RpcClient `from` (1-64 of A-Z a-z 0-9 . _ -) or a replyTopic of topics.cloudRes(clientId)',
      });
    }
    return this.options.replyTopic;
  }

  /** Sends `op(args)` and resolves with the answer's data; rejects with an AkbError. */
  async request<T = unknown>(op: string, args?: unknown, options: RequestOptions = {}): Promise<T> {
    if (this.closed) throw new AkbError('CLOSED', 'the RPC client is stopped');
    const id = `${this.prefix}-${(++this.seq).toString(36)}`;
    const topic = options.topic ?? this.options.requestTopic;
    const replyTopic = this.replyTopicOf(topic);
    let payload: string;
    try {
      payload = encodeMessage('request', {
        v: 1,
        id,
        op,
        ...(args === undefined ? {} : { args }),
        replyTo: replyTopic,
        ...(this.from === undefined ? {} : { from: this.from }),
        ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
      });
    } catch (e) {
      throw new AkbError('BAD_REQUEST', `cannot send "${op.slice(0, 64)}": ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
        hint: 'operation names are lower-case words joined by ".", "_" or "-"; args must be JSON',
      });
    }
    await this.start();
    await this.subscribe(replyTopic);
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 10_000;
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => this.expire(id), timeoutMs);
      this.pending.set(id, { op, replyTopic, resolve, reject, timer });
    });
    // The answer may settle while the publish is awaited; it is awaited below, so mark it handled now.
    answer.catch(() => undefined);
    try {
      await this.transport.publish(
        topic,
        payload,
        this.transport.protocolVersion === 5 ? { qos: this.qos, responseTopic: replyTopic, correlationData: Buffer.from(id, 'utf8') } : { qos: this.qos },
      );
      this.counters.sent++;
    } catch (e) {
      this.settle(id)?.reject(new AkbError('PUBLISH_FAILED', `could not send "${op}": ${errorText(e)}`, { cause: e }));
    }
    return (await answer) as T;
  }

  /** Unsubscribes and rejects every pending request with AkbError('CLOSED'). */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.pending.keys()]) {
      const p = this.settle(id);
      p?.reject(new AkbError('CLOSED', `request "${p.op}" abandoned: the RPC client stopped`));
    }
    const subscribed = [...this.subscriptions];
    this.subscriptions.clear();
    for (const [topic, s] of subscribed) {
      s.stopRouting();
      // A subscription that failed was already forgotten; one that succeeded is undone.
      if (await s.ready.then(() => true, () => false)) await this.transport.unsubscribe(topic);
    }
  }

  /** Subscribes to `topic` once (a failed attempt is forgotten, so the next request tries again). */
  private subscribe(topic: string): Promise<void> {
    const existing = this.subscriptions.get(topic);
    if (existing) return existing.ready;
    const stopRouting = this.transport.onMessage(topic, (m) => this.onAnswer(m));
    const ready = this.transport.subscribe(topic, { qos: this.qos }).catch((e: unknown) => {
      stopRouting();
      if (this.subscriptions.get(topic)?.ready === ready) this.subscriptions.delete(topic);
      throw e;
    });
    this.subscriptions.set(topic, { ready, stopRouting });
    return ready;
  }

  private onAnswer(message: AkbMessage): void {
    let res: ResponseEnvelope;
    try {
      res = decodeMessage('response', message.payload);
    } catch (e) {
      this.counters.malformed++;
      // Valid JSON with our id but a broken envelope: fail that request now rather than let it time out.
      const id = isAkbError(e) && e.code === 'SCHEMA_VIOLATION' ? recoverId(message.payload) : undefined;
      const waiting = id === undefined ? undefined : this.settle(id);
      waiting?.reject(new AkbError('BAD_RESPONSE', `the answer to "${waiting.op}" is not a valid response envelope`, { cause: e }));
      return;
    }
    const waiting = this.settle(res.id);
    if (waiting === undefined) {
      if (this.timedOut.delete(res.id)) this.counters.late++;
      else this.counters.unknown++;
      return;
    }
    if (res.status === 'ok') {
      this.counters.ok++;
      waiting.resolve(res.data);
    } else {
      this.counters.errors++;
      const { code, message: text, hint } = res.error;
      waiting.reject(new AkbError(code, text, hint === undefined ? {} : { hint }));
    }
  }

  private expire(id: string): void {
    const p = this.settle(id);
    if (p === undefined) return;
    this.counters.timeouts++;
    this.timedOut.add(id);
    if (this.timedOut.size > LATE_MEMORY) {
      const oldest = this.timedOut.values().next();
      if (oldest.done !== true) this.timedOut.delete(oldest.value);
    }
    p.reject(
      new AkbError('TIMEOUT', `no answer to "${p.op}" on ${p.replyTopic}`, {
        hint: 'check that the server runs and subscribes to the request topic, or raise the timeout',
      }),
    );
  }

  /** Removes a pending request and its timer; returns it if it was there. */
  private settle(id: string): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(id);
    return p;
  }
}

function recoverId(payload: Buffer): string | undefined {
  try {
    const json: unknown = JSON.parse(payload.toString('utf8'));
    const id = typeof json === 'object' && json !== null ? (json as { id?: unknown }).id : undefined;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
