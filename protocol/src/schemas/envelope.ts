/**
 * Request/response envelopes for commands over MQTT. The correlation id travels in the payload, so the
 * protocol works on MQTT 3.1.1 brokers; on MQTT 5 the same id is also sent as correlation data. Where the
 * answer goes is fixed by the request topic (../reply-topic.ts), never chosen by the envelope: `replyTo`
 * stays for compatibility and is honoured only when it names that topic.
 */
import { z } from 'zod';

export const CorrelationId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'correlation id: 1-64 of [A-Za-z0-9._:-]')
  .describe('Correlation id chosen by the requester, unique among its requests in flight; the response repeats it.');

/** An operation name, e.g. `ping`, `status.get`, `kb.entry`. */
export const OperationName = z
  .string()
  .regex(/^[a-z][a-z0-9]*([._-][a-z0-9]+)*$/, 'operation: lower-case words joined by . _ or -')
  .max(64)
  .describe('Operation, lower-case words joined by ".", "_" or "-", e.g. "ping", "status.get", "kb.entries".');

export const RequestEnvelope = z
  .object({
    v: z.literal(1).describe('Message format version.'),
    id: CorrelationId,
    op: OperationName,
    args: z.unknown().optional().describe('Arguments of the operation; their schema depends on op.'),
    /** Kept for compatibility: where the requester expects the answer. Responders ignore it unless it names the fixed reply topic. */
    replyTo: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe(
        'Where the requester expects the answer. Kept for compatibility: responders answer on the reply topic the request topic fixes (cmd/req: cmd/res, kb/req: kb/res, cloud/req and cloud/ops/req: cloud/res/{from}) and ignore a replyTo that names another.',
      ),
    /** Who asks: a device or client id. */
    from: z
      .string()
      .max(64)
      .optional()
      .describe('Who asks: a device or client id. Required on akb/v1/cloud/req and akb/v1/cloud/ops/req, whose answer goes to akb/v1/cloud/res/{from}: there it must be 1-64 of [A-Za-z0-9._-], not "." or "..".'),
    /** Milliseconds since the epoch after which the request is stale and must not be executed. */
    deadline: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('Milliseconds since the Unix epoch after which the request is stale: the receiver drops it unexecuted.'),
  })
  .strict()
  .meta({ title: 'Request envelope', description: 'A command: on cmd/req, kb/req, fleet/cmd/req, cloud/req and cloud/ops/req topics.' });
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

export const ErrorBody = z
  .object({
    code: z.string().min(1).max(64).describe('Stable error code a program can switch on, e.g. UNKNOWN_OP, BAD_REQUEST, EXPIRED, INTERNAL.'),
    message: z.string().max(2000).describe('What went wrong, for people.'),
    hint: z.string().max(2000).optional().describe('What to do about it.'),
  })
  .strict()
  .describe('Why a request failed.');
export type ErrorBody = z.infer<typeof ErrorBody>;

export const ResponseEnvelope = z
  .discriminatedUnion('status', [
    z
      .object({
        v: z.literal(1).describe('Message format version.'),
        id: CorrelationId,
        status: z.literal('ok').describe('The operation succeeded.'),
        data: z.unknown().optional().describe('Result of the operation; its schema depends on the request op.'),
      })
      .strict(),
    z
      .object({
        v: z.literal(1).describe('Message format version.'),
        id: CorrelationId,
        status: z.literal('error').describe('The operation failed.'),
        error: ErrorBody,
      })
      .strict(),
  ])
  .meta({ title: 'Response envelope', description: 'The answer to a request, on the reply topic its request topic fixes (cmd/res, kb/res, cloud/res/{from}).' });
export type ResponseEnvelope = z.infer<typeof ResponseEnvelope>;
