/**
 * Where the answer to a request goes. The topic the request arrived on fixes it; nothing a message
 * carries chooses it. Before this rule a responder answered on the payload's `replyTo` (or the MQTT 5
 * response topic), so a device could make the cloud publish into any topic the cloud may write, such as
 * another device's `cmd/req`. The table (PROTOCOL.md, "Reply topics"; vectors/rules/reply-topics.json):
 *
 *   akb/v1/dev/{d}/cmd/req   → akb/v1/dev/{d}/cmd/res
 *   akb/v1/dev/{d}/kb/req    → akb/v1/dev/{d}/kb/res
 *   akb/v1/fleet/cmd/req     → akb/v1/dev/{self}/cmd/res     (each device answers on its own topic)
 *   akb/v1/cloud/req         → akb/v1/cloud/res/{from}       (the envelope's `from`, a valid client id)
 *   akb/v1/cloud/ops/req     → akb/v1/cloud/res/{from}       (the same; operators' requests, tools only)
 *   akb/v1/link/ctl/req      → akb/v1/link/ctl/res/{from}    (channel control, tools only; protocol 1.2)
 *   any other topic          → the responder's configured default reply topic
 *
 * Where the table gives nothing (cloud/req or cloud/ops/req without a usable `from`, fleet/cmd/req at a responder that
 * knows no device id of its own nor a default, any other topic without a default) the request cannot be
 * answered: the responder drops and counts it. `replyTo` and the MQTT 5 response topic stay in the
 * envelope for compatibility; a responder honours them only when they name the topic above, and
 * otherwise ignores (and counts) them.
 */
import { DEVICE_ID_PATTERN, TOPIC_ROOT } from './topics.js';

/** What the responder knows about itself; never taken from a message. */
export interface ReplyRuleContext {
  /** The responder's own device id, for requests on `akb/v1/fleet/cmd/req`. */
  readonly deviceId?: string;
  /** Where requests on topics outside the table are answered (and fleet requests when `deviceId` is unknown). */
  readonly defaultReplyTopic?: string;
}

/** The only field of a request the table reads. `replyTo` is deliberately absent. */
export interface ReplyRuleRequest {
  readonly from?: unknown;
}

/** Why a request has no reply topic. */
export type NoReplyReason = 'no-from' | 'bad-from' | 'no-device-id' | 'no-default';

/** Which row of the table gave the reply topic. */
export type ReplyRule = 'cmd' | 'kb' | 'fleet' | 'cloud' | 'cloud-ops' | 'link-ctl' | 'default';

export type ReplyDecision = { readonly topic: string; readonly rule: ReplyRule } | { readonly topic: null; readonly reason: NoReplyReason };

/** A client or device id usable as one topic level: 1-64 of `A-Z a-z 0-9 . _ -`, not "." or "..". */
export function isClientId(id: unknown): id is string {
  return typeof id === 'string' && DEVICE_ID_PATTERN.test(id) && id !== '.' && id !== '..';
}

/** A topic a responder may publish to: non-empty, no wildcard, no NUL, at most 65535 UTF-8 bytes. */
function isPublishable(topic: string | undefined): topic is string {
  return (
    topic !== undefined &&
    topic.length > 0 &&
    !topic.includes('+') &&
    !topic.includes('#') &&
    !topic.includes('\u0000') &&
    Buffer.byteLength(topic, 'utf8') <= 65535
  );
}

function fallback(context: ReplyRuleContext, reason: NoReplyReason): ReplyDecision {
  return isPublishable(context.defaultReplyTopic) ? { topic: context.defaultReplyTopic, rule: 'default' } : { topic: null, reason };
}

/** The reply topic of a request that arrived on `requestTopic`, with the table row or the reason there is none. */
export function decideReply(requestTopic: string, request: ReplyRuleRequest, context: ReplyRuleContext = {}): ReplyDecision {
  const levels = requestTopic.split('/');
  const root = `${TOPIC_ROOT}/`;
  if (requestTopic.startsWith(root)) {
    const [, , scope, a, b, c] = levels;
    if (scope === 'dev' && levels.length === 6 && isClientId(a) && c === 'req' && (b === 'cmd' || b === 'kb')) {
      return { topic: `${TOPIC_ROOT}/dev/${a}/${b}/res`, rule: b };
    }
    if (requestTopic === `${TOPIC_ROOT}/fleet/cmd/req`) {
      if (isClientId(context.deviceId)) return { topic: `${TOPIC_ROOT}/dev/${context.deviceId}/cmd/res`, rule: 'fleet' };
      return fallback(context, 'no-device-id');
    }
    const cloud = requestTopic === `${TOPIC_ROOT}/cloud/req` ? 'cloud' : requestTopic === `${TOPIC_ROOT}/cloud/ops/req` ? 'cloud-ops' : undefined;
    if (cloud !== undefined) {
      if (request.from === undefined || request.from === null) return { topic: null, reason: 'no-from' };
      if (!isClientId(request.from)) return { topic: null, reason: 'bad-from' };
      return { topic: `${TOPIC_ROOT}/cloud/res/${request.from}`, rule: cloud };
    }
    if (requestTopic === `${TOPIC_ROOT}/link/ctl/req`) {
      if (request.from === undefined || request.from === null) return { topic: null, reason: 'no-from' };
      if (!isClientId(request.from)) return { topic: null, reason: 'bad-from' };
      return { topic: `${TOPIC_ROOT}/link/ctl/res/${request.from}`, rule: 'link-ctl' };
    }
  }
  return fallback(context, 'no-default');
}

/** The reply topic of a request that arrived on `requestTopic`, or null when it cannot be answered. */
export function replyTopicFor(requestTopic: string, request: ReplyRuleRequest, context: ReplyRuleContext = {}): string | null {
  return decideReply(requestTopic, request, context).topic;
}

/**
 * The client id of an `akb/v1/cloud/res/{client}` or `akb/v1/link/ctl/res/{client}` topic, else undefined.
 * `RpcClient` uses it as the default `from` of its requests, since those requests are answered on `…/res/{from}`.
 */
export function clientOfCloudReply(topic: string): string | undefined {
  for (const prefix of [`${TOPIC_ROOT}/cloud/res/`, `${TOPIC_ROOT}/link/ctl/res/`]) {
    if (!topic.startsWith(prefix)) continue;
    const client = topic.slice(prefix.length);
    return isClientId(client) ? client : undefined;
  }
  return undefined;
}
