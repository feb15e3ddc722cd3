/**
 * Request/response over MQTT, server side: a dispatch table keyed by operation. Every request that can
 * be answered is answered with a ResponseEnvelope, whatever the handler does:
 *
 *   unknown operation                 → error UNKNOWN_OP
 *   payload not JSON / not a request  → error BAD_REQUEST when a correlation id can be recovered (from the
 *                                       payload or MQTT 5 correlation data), else counted and dropped
 *   past its `deadline`               → error EXPIRED, the handler is not called
 *   handler throws or rejects         → error with the AkbError's code/message/hint, else INTERNAL
 *
 * The answer goes to the topic the request topic fixes (`decideReply` in ../reply-topic.ts: cmd/req →
 * cmd/res, kb/req → kb/res, fleet/cmd/req → this device's cmd/res, cloud/req and cloud/ops/req →
 * cloud/res/{from}, else the configured default), never to a topic the message names: a payload's
 * `replyTo` or an MQTT 5 response topic that differs is ignored and counted (`replyToIgnored`). A request
 * with no reply topic is dropped and counted. On MQTT 5 the correlation data is echoed.
 */
import { isAkbError } from '../errors.js';
import { decodeMessage, encodeMessage } from '../messages.js';
import { CorrelationId, type ErrorBody, type RequestEnvelope, type ResponseEnvelope } from '../schemas/envelope.js';
import { decideReply, type ReplyRuleContext } from '../reply-topic.js';
import { errorText } from './util.js';
import { isPublishTopic } from './topic-match.js';
import type { AkbMessage, MqttTransport, QoS } from './transport.js';

export interface RpcContext {
  id: string;
  op: string;
  from: string | undefined;
  /** The topic the request arrived on. */
  topic: string;
  deadline: number | undefined;
  /** Where the answer will go. */
  replyTopic: string;
}

export type RpcHandler = (args: unknown, ctx: RpcContext) => unknown;
export type RpcHandlers = Record<string, RpcHandler>;

/**
 * A caller's own reply rule, replacing the table of `decideReply`. It sees the topic the request arrived on
 * and who asks, never the `replyTo` a message names; it returns the reply topic, or null to drop the request.
 */
export type ReplyRuleFn = (requestTopic: string, request: { from: string | undefined; op: string | undefined }, context: ReplyRuleContext) => string | null;

export interface RpcServerOptions {
  /** Topic (or filter) the requests arrive on, e.g. `topics.cmdReq(deviceId)`. */
  requestTopic: string;
  handlers: RpcHandlers;
  /** This server's own device id: requests on `akb/v1/fleet/cmd/req` are answered on its `cmd/res`. */
  deviceId?: string;
  /**
   * Where requests on topics outside the reply table are answered (and fleet requests when `deviceId` is
   * not given). Chosen by whoever runs the server, never by a message.
   */
  defaultReplyTopic?: string;
  /** Replaces the reply table (default `decideReply`). */
  replyRule?: ReplyRuleFn;
  /**
   * Whom this server answers at all, by the request's `from` (undefined when it names none): a request it
   * refuses is dropped unanswered and counted (`refused`) before any handler runs. Default: everyone.
   */
  accept?: (from: string | undefined) => boolean;
  /** QoS of the subscription and of the answers (default 1). */
  qos?: QoS;
  /** Clock for deadlines (default Date.now). */
  now?: () => number;
  /** Told about every failure (handler errors, dropped requests, failed publishes), for logging. */
  onError?: (error: unknown, context: { topic: string; id?: string; op?: string; what: string }) => void;
}

export interface RpcServerStats {
  received: number;
  answered: number;
  ok: number;
  errors: number;
  unknownOp: number;
  badRequest: number;
  expired: number;
  handlerFailures: number;
  /** Requests that could not be answered: no recoverable id, or no reply topic. */
  dropped: number;
  /** Requests whose `replyTo` or MQTT 5 response topic named another topic than the fixed one: not honoured. */
  replyToIgnored: number;
  /** Requests whose `from` the `accept` option refused: dropped unanswered. */
  refused: number;
  publishFailures: number;
}

const MAX_MESSAGE = 2000;

export class RpcServer {
  private readonly counters: RpcServerStats = {
    received: 0, answered: 0, ok: 0, errors: 0, unknownOp: 0, badRequest: 0, expired: 0,
    handlerFailures: 0, dropped: 0, replyToIgnored: 0, refused: 0, publishFailures: 0,
  };
  private readonly handlers: ReadonlyMap<string, RpcHandler>;
  private readonly qos: QoS;
  private readonly now: () => number;
  private stopRouting: (() => void) | undefined;

  constructor(
    private readonly transport: MqttTransport,
    private readonly options: RpcServerOptions,
  ) {
    // A Map, not the object itself, so that an op named "constructor" or "__proto__" is just unknown.
    this.handlers = new Map(Object.entries(options.handlers));
    this.qos = options.qos ?? 1;
    this.now = options.now ?? Date.now;
  }

  get stats(): Readonly<RpcServerStats> {
    return { ...this.counters };
  }

  get operations(): string[] {
    return [...this.handlers.keys()];
  }

  /** Subscribes to the request topic and starts answering. */
  async start(): Promise<void> {
    if (this.stopRouting) return;
    this.stopRouting = this.transport.onMessage(this.options.requestTopic, (m) => this.handle(m));
    try {
      await this.transport.subscribe(this.options.requestTopic, { qos: this.qos });
    } catch (e) {
      this.stopRouting();
      this.stopRouting = undefined;
      throw e;
    }
  }

  async stop(): Promise<void> {
    if (!this.stopRouting) return;
    this.stopRouting();
    this.stopRouting = undefined;
    await this.transport.unsubscribe(this.options.requestTopic);
  }

  /** Answers one request message. Never rejects; exposed so a caller can feed messages it routed itself. */
  async handle(message: AkbMessage): Promise<void> {
    this.counters.received++;
    let req: RequestEnvelope;
    try {
      req = decodeMessage('request', message.payload);
    } catch (e) {
      return this.reject(message, e);
    }
    if (!this.accepts(req.from)) return;
    const replyTopic = this.replyTopic(message, req.from, req.op, req.replyTo, req.id);
    if (replyTopic === undefined) return;
    const ctx: RpcContext = { id: req.id, op: req.op, from: req.from, topic: message.topic, deadline: req.deadline, replyTopic };

    if (req.deadline !== undefined && req.deadline < this.now()) {
      this.counters.expired++;
      return this.answerError(message, ctx, {
        code: 'EXPIRED',
        message: `request ${req.id} (${req.op}) arrived after its deadline`,
        hint: 'send it again with a later deadline, or check the clocks of both sides',
      });
    }
    const handler = this.handlers.get(req.op);
    if (handler === undefined) {
      this.counters.unknownOp++;
      return this.answerError(message, ctx, {
        code: 'UNKNOWN_OP',
        message: `unknown operation "${req.op}"`,
        hint: `known operations: ${this.operations.join(', ') || '(none)'}`.slice(0, MAX_MESSAGE),
      });
    }
    let data: unknown;
    try {
      data = await handler(req.args, ctx);
    } catch (e) {
      this.counters.handlerFailures++;
      this.report(e, message.topic, 'handler failed', req.id, req.op);
      return this.answerError(message, ctx, errorBody(e));
    }
    const body: ResponseEnvelope = data === undefined ? { v: 1, id: req.id, status: 'ok' } : { v: 1, id: req.id, status: 'ok', data };
    let payload: string;
    try {
      payload = encodeMessage('response', body);
    } catch (e) {
      this.counters.handlerFailures++;
      return this.answerError(message, ctx, {
        code: 'BAD_RESPONSE',
        message: `the result of "${req.op}" cannot be sent: ${errorText(e)}`.slice(0, MAX_MESSAGE),
        hint: 'return JSON-serializable data within the message size limit',
      });
    }
    this.counters.ok++;
    await this.send(message, replyTopic, payload, ctx);
  }

  /** A request that failed to decode: answer BAD_REQUEST if an id can be recovered, else drop it. */
  private async reject(message: AkbMessage, error: unknown): Promise<void> {
    this.counters.badRequest++;
    const why = `bad request: ${errorText(error)}`;
    // Valid JSON that breaks the schema may still carry a usable id and from; other failures
    // (not JSON, too large, too deep) are not parsed again.
    let fields: Record<string, unknown> = {};
    if (isAkbError(error) && error.code === 'SCHEMA_VIOLATION') {
      try {
        const json: unknown = JSON.parse(message.payload.toString('utf8'));
        if (typeof json === 'object' && json !== null && !Array.isArray(json)) fields = json as Record<string, unknown>;
      } catch {
        // nothing to recover
      }
    }
    const id = recoverId(fields.id) ?? recoverId(message.correlationData?.toString('utf8'));
    if (id === undefined) return this.drop(message, `${why}; no correlation id to answer`);
    const op = typeof fields.op === 'string' ? fields.op.slice(0, 64) : '';
    const from = typeof fields.from === 'string' ? fields.from : undefined;
    if (!this.accepts(from)) return;
    const replyTopic = this.replyTopic(message, from, op, fields.replyTo, id, why);
    if (replyTopic === undefined) return;
    const ctx: RpcContext = { id, op, from: undefined, topic: message.topic, deadline: undefined, replyTopic };
    return this.answerError(message, ctx, {
      code: 'BAD_REQUEST',
      message: why.slice(0, MAX_MESSAGE),
      hint: 'send {"v":1,"id":…,"op":…,"args":…,"from":…} as UTF-8 JSON',
    });
  }

  private accepts(from: string | undefined): boolean {
    if (this.options.accept === undefined || this.options.accept(from)) return true;
    this.counters.refused++;
    return false;
  }

  private drop(message: AkbMessage, why: string, id?: string, op?: string): void {
    this.counters.dropped++;
    this.report(new Error(why), message.topic, 'request dropped', id, op);
  }

  /**
   * The topic the request's own topic fixes (or the caller's rule gives); counts a `replyTo` or response
   * topic that names another. Undefined, after counting the drop, when there is none.
   */
  private replyTopic(message: AkbMessage, from: string | undefined, op: string | undefined, replyTo: unknown, id: string, why?: string): string | undefined {
    const context: ReplyRuleContext = {
      ...(this.options.deviceId === undefined ? {} : { deviceId: this.options.deviceId }),
      ...(this.options.defaultReplyTopic === undefined ? {} : { defaultReplyTopic: this.options.defaultReplyTopic }),
    };
    let topic: string | null;
    let reason = 'the rule gave none';
    try {
      if (this.options.replyRule) {
        topic = this.options.replyRule(message.topic, { from, op }, context);
      } else {
        const decision = decideReply(message.topic, { from }, context);
        topic = decision.topic;
        if (decision.topic === null) reason = decision.reason;
      }
    } catch (e) {
      topic = null;
      reason = `the reply rule failed: ${errorText(e)}`;
    }
    if (topic !== null && !isPublishTopic(topic)) {
      reason = `the reply rule gave ${JSON.stringify(topic.slice(0, 100))}, which cannot be published to`;
      topic = null;
    }
    const asked = [message.responseTopic, typeof replyTo === 'string' ? replyTo : undefined];
    if (asked.some((t) => t !== undefined && t !== topic)) {
      this.counters.replyToIgnored++;
      const named = asked.filter((t) => t !== undefined && t !== topic).map((t) => JSON.stringify(t!.slice(0, 100)));
      this.report(new Error(`reply topic ${named.join(' and ')} ignored; the answer goes to ${topic ?? 'nowhere'}`), message.topic, 'reply topic ignored', id, op);
    }
    if (topic === null) {
      this.drop(message, `${why === undefined ? '' : `${why}; `}no reply topic (${reason})`, id, op);
      return undefined;
    }
    return topic;
  }

  private async answerError(message: AkbMessage, ctx: RpcContext, error: ErrorBody): Promise<void> {
    this.counters.errors++;
    const body: ResponseEnvelope = { v: 1, id: ctx.id, status: 'error', error };
    await this.send(message, ctx.replyTopic, JSON.stringify(body), ctx);
  }

  private async send(message: AkbMessage, topic: string, payload: string, ctx: RpcContext): Promise<void> {
    try {
      // MQTT 5: the correlation data is echoed, wherever the answer goes.
      const correlationData = message.correlationData;
      await this.transport.publish(topic, payload, correlationData === undefined ? { qos: this.qos } : { qos: this.qos, correlationData });
      this.counters.answered++;
    } catch (e) {
      this.counters.publishFailures++;
      this.report(e, message.topic, `answer to ${topic} failed`, ctx.id, ctx.op);
    }
  }

  private report(error: unknown, topic: string, what: string, id?: string, op?: string): void {
    const onError = this.options.onError;
    if (!onError) return;
    try {
      onError(error, { topic, what, ...(id === undefined ? {} : { id }), ...(op === undefined ? {} : { op }) });
    } catch {
      // A failing logger must not take the server down.
    }
  }
}

function recoverId(v: unknown): string | undefined {
  const r = CorrelationId.safeParse(v);
  return r.success ? r.data : undefined;
}

/** The error body for a handler failure: an AkbError keeps its code, message and hint. */
export function errorBody(e: unknown): ErrorBody {
  if (isAkbError(e)) {
    const body: ErrorBody = { code: e.code.slice(0, 64) || 'INTERNAL', message: e.message.slice(0, MAX_MESSAGE) };
    if (e.hint !== undefined) body.hint = e.hint.slice(0, MAX_MESSAGE);
    return body;
  }
  return {
    code: 'INTERNAL',
    message: errorText(e).slice(0, MAX_MESSAGE),
    hint: 'the handler failed unexpectedly; see the server log',
  };
}
