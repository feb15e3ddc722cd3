/**
 * The telemetry store: one interface, two back ends (SQLite by default, PostgreSQL with `--db
 * postgres://…`), both held by the same test suite (test/telemetry/store-suite.ts). It keeps, per device,
 * a time series of telemetry samples, of status changes (birth, death, updating) and of alarm states, and
 * forgets what is older than the retention. Writes come in batches from the ingest; reads serve the
 * dashboard's charts and the history API. Everything stored was validated by its protocol schema first.
 */
import type { AlarmMessage, StatusMessage, TelemetryMessage } from '@akb/protocol';

/** One telemetry sample as stored: the message, and when the cloud received it. */
export interface StoredTelemetry {
  readonly device: string;
  /** The sample's own `ts` (device clock), ms since the epoch. */
  readonly ts: number;
  /** When the cloud received it (cloud clock), ms since the epoch; queries and retention use this. */
  readonly receivedAt: number;
  readonly message: TelemetryMessage;
}

export interface StoredStatus {
  readonly device: string;
  readonly receivedAt: number;
  readonly message: StatusMessage;
}

export interface StoredAlarm {
  readonly device: string;
  readonly receivedAt: number;
  readonly message: AlarmMessage;
}

/** A time range on `receivedAt`, newest last; `limit` keeps the newest `limit` rows of the range. */
export interface RangeQuery {
  readonly device: string;
  /** Inclusive, ms since the epoch (default: the beginning). */
  readonly from?: number;
  /** Exclusive (default: now and later). */
  readonly to?: number;
  /** At most this many rows, the newest of the range (default 1000, at most MAX_QUERY_ROWS). */
  readonly limit?: number;
}

/** Most rows one query returns. */
export const MAX_QUERY_ROWS = 10_000;

export interface DeviceSummary {
  readonly device: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly samples: number;
}

export interface PruneResult {
  readonly telemetry: number;
  readonly status: number;
  readonly alarms: number;
}

export interface StoreStats {
  readonly kind: TelemetryStore['kind'];
  readonly telemetryRows: number;
  readonly statusRows: number;
  readonly alarmRows: number;
  readonly devices: number;
}

export interface TelemetryStore {
  readonly kind: 'sqlite' | 'postgres' | 'memory';
  /** Where it stores, without credentials (a file path, or postgres://host:port/db). */
  readonly location: string;
  /** Writes a batch in one transaction; all of it or none. */
  writeTelemetry(rows: readonly StoredTelemetry[]): Promise<void>;
  writeStatus(rows: readonly StoredStatus[]): Promise<void>;
  writeAlarms(rows: readonly StoredAlarm[]): Promise<void>;
  telemetry(q: RangeQuery): Promise<StoredTelemetry[]>;
  status(q: RangeQuery): Promise<StoredStatus[]>;
  alarms(q: RangeQuery): Promise<StoredAlarm[]>;
  /** Every device with telemetry, sorted by id. */
  devices(): Promise<DeviceSummary[]>;
  /** Deletes every row received before `beforeMs`. */
  prune(beforeMs: number): Promise<PruneResult>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}

/** Clamps a query's limit to 1..MAX_QUERY_ROWS (default 1000). */
export function queryLimit(q: RangeQuery): number {
  const limit = q.limit ?? 1000;
  if (!Number.isFinite(limit)) return 1000;
  return Math.max(1, Math.min(MAX_QUERY_ROWS, Math.floor(limit)));
}
