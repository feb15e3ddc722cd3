/**
 * `telemetry.query` on `akb/v1/cloud/ops/req` (tools only): a device's stored rows of one table in a time
 * range. Args `{device, table?: "telemetry" | "status" | "alarms" (default telemetry), from?, to?, limit?:
 * 1-1000 (default 100)}`; data `{device, table, rows: [{receivedAt, message}], truncated}`: the newest
 * `limit` rows of [from, to), oldest first. The answer must fit the protocol's 256 KiB message limit, so
 * rows are kept, newest first, while their JSON stays under 200 KiB; `truncated` says older rows of the
 * range were left out (ask again with `to` = the first row's `receivedAt`).
 */
import { z } from 'zod';
import { AkbError, DEVICE_ID_PATTERN } from '@akb/protocol';
import type { TelemetryStore } from './store.js';

export const TELEMETRY_QUERY_OP = 'telemetry.query';
export const MAX_QUERY_PAGE = 1000;
const MAX_ANSWER_BYTES = 200 * 1024;
const Millis = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const TelemetryQueryArgs = z.strictObject({
  device: z.string().regex(DEVICE_ID_PATTERN).refine((d) => d !== '.' && d !== '..', 'not a device id'),
  table: z.enum(['telemetry', 'status', 'alarms']).optional(),
  from: Millis.optional(),
  to: Millis.optional(),
  limit: z.number().int().min(1).max(MAX_QUERY_PAGE).optional(),
});
export type TelemetryQueryArgs = z.infer<typeof TelemetryQueryArgs>;

export interface TelemetryQueryPage {
  device: string;
  table: 'telemetry' | 'status' | 'alarms';
  rows: { receivedAt: number; message: unknown }[];
  truncated: boolean;
}

export async function telemetryQuery(store: TelemetryStore, args: unknown): Promise<TelemetryQueryPage> {
  const parsed = TelemetryQueryArgs.safeParse(args ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AkbError('BAD_REQUEST', `${TELEMETRY_QUERY_OP}: at ${issue?.path.join('.') || 'args'}: ${issue?.message ?? 'invalid'}`, {
      hint: 'args: {device, table?: telemetry|status|alarms, from?, to?, limit?: 1-1000}',
    });
  }
  const a = parsed.data;
  const table = a.table ?? 'telemetry';
  const q = { device: a.device, limit: a.limit ?? 100, ...(a.from !== undefined ? { from: a.from } : {}), ...(a.to !== undefined ? { to: a.to } : {}) };
  const found = table === 'telemetry' ? await store.telemetry(q) : table === 'status' ? await store.status(q) : await store.alarms(q);
  const rows: TelemetryQueryPage['rows'] = [];
  let bytes = 0;
  for (let i = found.length - 1; i >= 0; i--) {
    const row = { receivedAt: found[i]!.receivedAt, message: found[i]!.message as unknown };
    bytes += Buffer.byteLength(JSON.stringify(row)) + 1;
    if (bytes > MAX_ANSWER_BYTES) break;
    rows.push(row);
  }
  return { device: a.device, table, rows: rows.reverse(), truncated: rows.length < found.length };
}
