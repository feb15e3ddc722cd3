/**
 * Request/response envelopes for commands over MQTT. The correlation id travels in the payload, so the
 * protocol works on MQTT 3.1.1 brokers; on MQTT 5 the same id is also sent as correlation data and the
 * reply topic as the response topic.
 */
import { z } from 'zod';

export const CorrelationId = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'correlation id: 1-64 of [A-Za-z0-9._:-]');

/** An operation name, e.g. `ping`, `status.get`, `kb.entry`. */
export const OperationName = z.string().regex(/^[a-z][a-z0-9]*([._-][a-z0-9]+)*$/, 'operation: lower-case words joined by . _ or -').max(64);

export const RequestEnvelope = z
  .object({
    v: z.literal(1),
    id: CorrelationId,
    op: OperationName,
    args: z.unknown().optional(),
    /** Topic the answer goes to (for MQTT 3.1.1 clients; MQTT 5 clients also set the response topic). */
    replyTo: z.string().min(1).max(512).optional(),
    /** Who asks: a device or client id. */
    from: z.string().max(64).optional(),
    /** Milliseconds since the epoch after which the request is stale and must not be executed. */
    deadline: z.number().int().nonnegative().optional(),
  })
  .strict();
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

export const ErrorBody = z
  .object({
    code: z.string().min(1).max(64),
    message: z.string().max(2000),
    hint: z.string().max(2000).optional(),
  })
  .strict();
export type ErrorBody = z.infer<typeof ErrorBody>;

export const ResponseEnvelope = z.discriminatedUnion('status', [
  z.object({ v: z.literal(1), id: CorrelationId, status: z.literal('ok'), data: z.unknown().optional() }).strict(),
  z.object({ v: z.literal(1), id: CorrelationId, status: z.literal('error'), error: ErrorBody }).strict(),
]);
export type ResponseEnvelope = z.infer<typeof ResponseEnvelope>;
