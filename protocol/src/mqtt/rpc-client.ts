/**
 * Request/response over MQTT, client side. Each request gets a fresh correlation id and waits in a
 * pending map until its answer arrives or its timeout fires (AkbError 'TIMEOUT'). The payload always
 * names the reply topic (`replyTo`), so MQTT 3.1.1 servers can answer; on an MQTT 5 connection the request
 * also carries the response topic and the id as correlation data. Answers nobody waits for (late, after
 * a timeout, or unknown) are ignored and counted.
 */
import { randomBytes } from 'node:crypto';
import { AkbError, isAkbError } from '../errors.js';
import { decodeMessage, encodeMessage } from '../messages.js';
import type { ResponseEnvelope } from '../schemas/envelope.js';
import { errorText } from './util.js';
import type { AkbMessage, MqttTransport, QoS } from './transport.js';

export interface RpcClientOptions {
  /** Where requests go, e.g. `topics.cmdReq(deviceId)`. */
  requestTopic: string;
  /** Where answers come back; this client subscribes to it, e.g. `topics.cloudRes(clientId)`. */
  replyTopic: string;
  /** Sent as `from`. */
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
  private seq = 0;
  private started: Promise<void> | undefined;
  private stopRouting: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly transport: MqttTransport,
    private readonly options: RpcClientOptions,
  ) {
    this.prefix = options.idPrefix ?? randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
    this.qos = options.qos ?? 1;
  }

  get stats(): Readonly<RpcClientStats> {
    return { ...this.counters };
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Subscribes to the reply topic. `request` calls it on first use. */
  start(): Promise<void> {
    this.started ??= this.subscribe();
    return this.started;
  }

  /** Sends `op(args)` and resolves with the answer's data; rejects with an AkbError. */
  async request<T = unknown>(op: string, args?: unknown, options: RequestOptions = {}): Promise<T> {
    if (this.closed) throw new AkbError('CLOSED', 'the RPC client is stopped');
    const id = `${this.prefix}-${(++this.seq).toString(36)}`;
    let payload: string;
    try {
      payload = encodeMessage('request', {
        v: 1,
        id,
        op,
        ...(args === undefined ? {} : { args }),
        replyTo: this.options.replyTopic,
        ...(this.options.from === undefined ? {} : { from: this.options.from }),
        ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
      });
    } catch (e) {
      throw new AkbError('BAD_REQUEST', `cannot send "${op.slice(0, 64)}": ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
        hint: 'operation names are lower-case words joined by ".", "_" or "-"; args must be JSON',
      });
    }
    await this.start();
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 10_000;
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => this.expire(id), timeoutMs);
      this.pending.set(id, { op, resolve, reject, timer });
    });
    // The answer may settle while the publish is awaited; it is awaited below, so mark it handled now.
    answer.catch(() => undefined);
    try {
      await this.transport.publish(
        options.topic ?? this.options.requestTopic,
        payload,
        this.transport.protocolVersion === 5
          ? { qos: this.qos, responseTopic: this.options.replyTopic, correlationData: Buffer.from(id, 'utf8') }
          : { qos: this.qos },
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
    if (this.stopRouting) {
      this.stopRouting();
      this.stopRouting = undefined;
      await this.transport.unsubscribe(this.options.replyTopic);
    }
  }

  private async subscribe(): Promise<void> {
    this.stopRouting = this.transport.onMessage(this.options.replyTopic, (m) => this.onAnswer(m));
    try {
      await this.transport.subscribe(this.options.replyTopic, { qos: this.qos });
    } catch (e) {
      this.stopRouting();
      this.stopRouting = undefined;
      this.started = undefined;
      throw e;
    }
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
      new AkbError('TIMEOUT', `no answer to "${p.op}" on ${this.options.replyTopic}`, {
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
