/** The typed errors of the telemetry stores: each says what happened and what to do. */
import { AkbError, DEVICE_ID_PATTERN } from '@akb/protocol';

/** The current schema version of both SQL stores (the `schema_version` table holds it). */
export const SCHEMA_VERSION = 1;

export function closedStore(location: string): AkbError {
  return new AkbError('STORE_CLOSED', `telemetry store ${location} is closed`);
}

/** A database written by a newer akb-cloud: refused, never migrated down or overwritten. */
export function newerSchema(location: string, found: number): AkbError {
  return new AkbError(
    'STORE_SCHEMA_NEWER',
    `telemetry store ${location} has schema version ${found}; this akb-cloud knows versions up to ${SCHEMA_VERSION}`,
    { hint: 'run the akb-cloud that wrote it (or a newer one), or point --db at another database' },
  );
}

export function storeFailed(location: string, what: string, cause: unknown): AkbError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new AkbError('STORE_FAILED', `telemetry store ${location}: ${what} failed: ${detail.slice(0, 300)}`, { cause });
}

/**
 * Checks a batch before any of it is written, so a bad row refuses the whole batch in every store alike:
 * a valid device id, integer times in the safe range, a message object.
 */
export function checkRows(location: string, rows: readonly { device: unknown; receivedAt: unknown; ts?: unknown; message: unknown }[], withTs: boolean): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const bad = (why: string): AkbError => new AkbError('STORE_BAD_ROW', `telemetry store ${location}: row ${i} of the batch ${why}; nothing of the batch was written`);
    if (typeof r.device !== 'string' || !DEVICE_ID_PATTERN.test(r.device)) throw bad('has no valid device id');
    if (!Number.isSafeInteger(r.receivedAt)) throw bad('has no integer receivedAt');
    if (withTs && !Number.isSafeInteger(r.ts)) throw bad('has no integer ts');
    if (typeof r.message !== 'object' || r.message === null) throw bad('has no message');
  }
}
