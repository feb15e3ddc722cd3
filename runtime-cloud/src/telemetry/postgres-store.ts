/**
 * The telemetry store in PostgreSQL (`--db postgres://user@host:port/db[?schema=name]`), through pg's
 * connection pool (at most 4 connections). Messages are JSONB, so Grafana's PostgreSQL data source can
 * chart a field directly (`message->>'snrDb'`). `?schema=name` keeps the tables in that schema (created
 * when absent); the tests use it to run in a fresh schema each. A batch is one multi-row INSERT per
 * 1000 rows inside one transaction. The schema version is checked and created under an advisory lock,
 * so two clouds starting at once do not race; a newer version than this code knows is refused.
 */
import { AkbError } from '@akb/protocol';
import type { Pool, PoolClient } from 'pg';
import {
  queryLimit,
  type DeviceSummary,
  type PruneResult,
  type RangeQuery,
  type StoreStats,
  type StoredAlarm,
  type StoredStatus,
  type StoredTelemetry,
  type TelemetryStore,
} from './store.js';
import { SCHEMA_VERSION, checkRows, closedStore, newerSchema, storeFailed } from './store-errors.js';

type Kind = 'telemetry' | 'status' | 'alarms';
type AnyRow = StoredTelemetry | StoredStatus | StoredAlarm;
const ROWS_PER_INSERT = 1000;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS telemetry (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, device TEXT NOT NULL, received_at BIGINT NOT NULL, ts BIGINT NOT NULL, message JSONB NOT NULL);
CREATE INDEX IF NOT EXISTS telemetry_device_time ON telemetry (device, received_at);
CREATE INDEX IF NOT EXISTS telemetry_time ON telemetry (received_at);
CREATE TABLE IF NOT EXISTS status (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, device TEXT NOT NULL, received_at BIGINT NOT NULL, message JSONB NOT NULL);
CREATE INDEX IF NOT EXISTS status_device_time ON status (device, received_at);
CREATE INDEX IF NOT EXISTS status_time ON status (received_at);
CREATE TABLE IF NOT EXISTS alarms (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, device TEXT NOT NULL, received_at BIGINT NOT NULL, message JSONB NOT NULL);
CREATE INDEX IF NOT EXISTS alarms_device_time ON alarms (device, received_at);
CREATE INDEX IF NOT EXISTS alarms_time ON alarms (received_at);
`;

export interface PostgresTarget {
  /** The connection string pg is given (without `schema`). */
  readonly connectionString: string;
  readonly schema: string | undefined;
  /** postgres://user@host:port/db[?schema=…]: never the password. */
  readonly location: string;
}

/** Splits a postgres:// URL into what pg takes, the schema, and a location safe to print. */
export function postgresTarget(url: string): PostgresTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AkbError('BAD_DB_URL', '--db: not a valid postgres:// URL', { hint: 'e.g. --db postgres://akb@127.0.0.1:5432/telemetry' });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new AkbError('BAD_DB_URL', `--db: ${u.protocol} is not postgres:`);
  const schema = u.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new AkbError('BAD_DB_URL', `--db: schema ${JSON.stringify(schema.slice(0, 80))} is not a plain SQL name`, { hint: 'use letters, digits and _, starting with a letter or _' });
  }
  u.searchParams.delete('schema');
  const safe = new URL(u.href);
  safe.password = '';
  if (schema !== undefined) safe.searchParams.set('schema', schema);
  for (const k of [...safe.searchParams.keys()]) if (k !== 'schema') safe.searchParams.delete(k);
  return { connectionString: u.href, schema, location: safe.href };
}

export class PostgresTelemetryStore implements TelemetryStore {
  readonly kind = 'postgres' as const;
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    readonly location: string,
  ) {}

  static async open(url: string): Promise<PostgresTelemetryStore> {
    const target = postgresTarget(url);
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: target.connectionString,
      max: 4,
      connectionTimeoutMillis: 10_000,
      ...(target.schema !== undefined ? { options: `-c search_path=${target.schema}` } : {}),
    });
    // An idle client that loses its connection emits 'error' on the pool: without a listener it would end the process.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query("SELECT pg_advisory_xact_lock(hashtext('akb-telemetry-schema'))");
        if (target.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${target.schema}"`);
        await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
        const found = (await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version')).rows[0]?.v ?? null;
        if (found !== null && found > SCHEMA_VERSION) throw newerSchema(target.location, found);
        await client.query(SCHEMA);
        if (found === null) await client.query('INSERT INTO schema_version (version) VALUES ($1)', [SCHEMA_VERSION]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e instanceof AkbError ? e : storeFailed(target.location, 'opening', e);
    }
    return new PostgresTelemetryStore(pool, target.location);
  }

  writeTelemetry(rows: readonly StoredTelemetry[]): Promise<void> {
    return this.write('telemetry', rows);
  }

  writeStatus(rows: readonly StoredStatus[]): Promise<void> {
    return this.write('status', rows);
  }

  writeAlarms(rows: readonly StoredAlarm[]): Promise<void> {
    return this.write('alarms', rows);
  }

  telemetry(q: RangeQuery): Promise<StoredTelemetry[]> {
    return this.query('telemetry', q) as Promise<StoredTelemetry[]>;
  }

  status(q: RangeQuery): Promise<StoredStatus[]> {
    return this.query('status', q) as Promise<StoredStatus[]>;
  }

  alarms(q: RangeQuery): Promise<StoredAlarm[]> {
    return this.query('alarms', q) as Promise<StoredAlarm[]>;
  }

  async devices(): Promise<DeviceSummary[]> {
    const r = await this.run('listing devices', (c) =>
      c.query<{ device: string; first: number; last: number; n: number }>(
        'SELECT device, MIN(received_at)::float8 AS first, MAX(received_at)::float8 AS last, COUNT(*)::float8 AS n FROM telemetry GROUP BY device ORDER BY device COLLATE "C"',
      ),
    );
    return r.rows.map((x) => ({ device: x.device, firstSeen: x.first, lastSeen: x.last, samples: x.n }));
  }

  prune(beforeMs: number): Promise<PruneResult> {
    return this.run('pruning', async (c) => {
      await c.query('BEGIN');
      try {
        const del = async (kind: Kind): Promise<number> => (await c.query(`DELETE FROM ${kind} WHERE received_at < $1`, [beforeMs])).rowCount ?? 0;
        const result = { telemetry: await del('telemetry'), status: await del('status'), alarms: await del('alarms') };
        await c.query('COMMIT');
        return result;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  stats(): Promise<StoreStats> {
    return this.run('counting', async (c) => {
      const r = await c.query<{ t: number; s: number; a: number; d: number }>(
        'SELECT (SELECT COUNT(*) FROM telemetry)::float8 AS t, (SELECT COUNT(*) FROM status)::float8 AS s, (SELECT COUNT(*) FROM alarms)::float8 AS a, (SELECT COUNT(DISTINCT device) FROM telemetry)::float8 AS d',
      );
      const x = r.rows[0]!;
      return { kind: this.kind, telemetryRows: x.t, statusRows: x.s, alarmRows: x.a, devices: x.d };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async write(kind: Kind, rows: readonly AnyRow[]): Promise<void> {
    if (this.closed) throw closedStore(this.location);
    checkRows(this.location, rows, kind === 'telemetry');
    if (rows.length === 0) return;
    const width = kind === 'telemetry' ? 4 : 3;
    return this.run(`writing ${kind}`, async (c) => {
      await c.query('BEGIN');
      try {
        for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
          const chunk = rows.slice(start, start + ROWS_PER_INSERT);
          const params: unknown[] = [];
          const tuples = chunk.map((r, i) => {
            const base = i * width;
            params.push(r.device, r.receivedAt);
            if (kind === 'telemetry') params.push((r as StoredTelemetry).ts);
            params.push(JSON.stringify(r.message));
            const cells = Array.from({ length: width }, (_, k) => `$${base + k + 1}`);
            cells[width - 1] += '::jsonb';
            return `(${cells.join(', ')})`;
          });
          const columns = kind === 'telemetry' ? 'device, received_at, ts, message' : 'device, received_at, message';
          await c.query(`INSERT INTO ${kind} (${columns}) VALUES ${tuples.join(', ')}`, params);
        }
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  private async query(kind: Kind, q: RangeQuery): Promise<AnyRow[]> {
    const r = await this.run(`querying ${kind}`, (c) =>
      c.query<{ device: string; received_at: number; ts?: number; message: unknown }>(
        `SELECT device, received_at::float8 AS received_at, ${kind === 'telemetry' ? 'ts::float8 AS ts, ' : ''}message FROM ${kind}` +
          ' WHERE device = $1 AND received_at >= $2 AND received_at < $3 ORDER BY received_at DESC, id DESC LIMIT $4',
        [q.device, q.from ?? Number.MIN_SAFE_INTEGER, q.to ?? Number.MAX_SAFE_INTEGER, queryLimit(q)],
      ),
    );
    return r.rows.reverse().map((x) =>
      kind === 'telemetry'
        ? ({ device: x.device, ts: x.ts!, receivedAt: x.received_at, message: x.message } as StoredTelemetry)
        : ({ device: x.device, receivedAt: x.received_at, message: x.message } as StoredStatus | StoredAlarm),
    );
  }

  private async run<T>(what: string, body: (c: PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw closedStore(this.location);
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw storeFailed(this.location, what, e);
    }
    try {
      return await body(client);
    } catch (e) {
      throw e instanceof AkbError ? e : storeFailed(this.location, what, e);
    } finally {
      client.release();
    }
  }
}
