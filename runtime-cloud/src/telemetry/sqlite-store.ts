/**
 * The telemetry store in SQLite (the default: `<data>/telemetry.sqlite`), through better-sqlite3, an
 * optional dependency that builds from source with node-gyp. Without it `openSqliteStore` refuses with
 * what to install: akb-cloud never falls back to keeping nothing.
 *
 * WAL journal (readers do not block the writer), `synchronous=NORMAL` (a power cut may lose the last
 * batches, never corrupt the file). One table per kind, each indexed by (device, received_at) for the
 * range queries and by received_at for retention. Messages are stored as their JSON text. The schema is
 * versioned in `schema_version`; a newer version than this code knows is refused.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AkbError } from '@akb/protocol';
import type BetterSqlite3 from 'better-sqlite3';
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

type Db = BetterSqlite3.Database;
type Kind = 'telemetry' | 'status' | 'alarms';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS telemetry (id INTEGER PRIMARY KEY, device TEXT NOT NULL, received_at INTEGER NOT NULL, ts INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS telemetry_device_time ON telemetry (device, received_at);
CREATE INDEX IF NOT EXISTS telemetry_time ON telemetry (received_at);
CREATE TABLE IF NOT EXISTS status (id INTEGER PRIMARY KEY, device TEXT NOT NULL, received_at INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS status_device_time ON status (device, received_at);
CREATE INDEX IF NOT EXISTS status_time ON status (received_at);
CREATE TABLE IF NOT EXISTS alarms (id INTEGER PRIMARY KEY, device TEXT NOT NULL, received_at INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alarms_device_time ON alarms (device, received_at);
CREATE INDEX IF NOT EXISTS alarms_time ON alarms (received_at);
`;

/** Loads better-sqlite3, or says exactly what to install. */
async function loadDriver(): Promise<typeof BetterSqlite3> {
  try {
    const mod = (await import('better-sqlite3')) as { default: typeof BetterSqlite3 };
    return mod.default;
  } catch (cause) {
    throw new AkbError('STORE_UNAVAILABLE', `--db sqlite needs better-sqlite3, which is not installed or not built (${cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 160) : String(cause)})`, {
      hint: 'npm install better-sqlite3@12 -w runtime-cloud (it builds with node-gyp: python3, make and g++), or use --db postgres://… or --no-telemetry',
      cause,
    });
  }
}

interface RowOut {
  device: string;
  received_at: number;
  ts?: number;
  message: string;
}

export class SqliteTelemetryStore implements TelemetryStore {
  readonly kind = 'sqlite' as const;
  private closed = false;
  private readonly insert: Record<Kind, BetterSqlite3.Statement>;
  private readonly select: Record<Kind, BetterSqlite3.Statement>;
  private readonly writeMany: Record<Kind, (rows: readonly (StoredTelemetry | StoredStatus | StoredAlarm)[]) => void>;

  private constructor(
    private readonly db: Db,
    readonly location: string,
  ) {
    this.insert = {
      telemetry: db.prepare('INSERT INTO telemetry (device, received_at, ts, message) VALUES (?, ?, ?, ?)'),
      status: db.prepare('INSERT INTO status (device, received_at, message) VALUES (?, ?, ?)'),
      alarms: db.prepare('INSERT INTO alarms (device, received_at, message) VALUES (?, ?, ?)'),
    };
    const select = (kind: Kind): BetterSqlite3.Statement =>
      db.prepare(
        `SELECT device, received_at, ${kind === 'telemetry' ? 'ts, ' : ''}message FROM ${kind}` +
          ' WHERE device = ? AND received_at >= ? AND received_at < ? ORDER BY received_at DESC, id DESC LIMIT ?',
      );
    this.select = { telemetry: select('telemetry'), status: select('status'), alarms: select('alarms') };
    const many = (kind: Kind) =>
      db.transaction((rows: readonly (StoredTelemetry | StoredStatus | StoredAlarm)[]) => {
        const stmt = this.insert[kind];
        for (const r of rows) {
          const json = JSON.stringify(r.message);
          if (kind === 'telemetry') stmt.run(r.device, r.receivedAt, (r as StoredTelemetry).ts, json);
          else stmt.run(r.device, r.receivedAt, json);
        }
      });
    this.writeMany = { telemetry: many('telemetry'), status: many('status'), alarms: many('alarms') };
  }

  /** Opens (creating the file and its folder when absent) and brings the schema to the current version. */
  static async open(path: string): Promise<SqliteTelemetryStore> {
    const Driver = await loadDriver();
    let db: Db;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Driver(path);
    } catch (e) {
      throw storeFailed(path, 'opening', e);
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      migrate(db, path);
      return new SqliteTelemetryStore(db, path);
    } catch (e) {
      db.close();
      throw e instanceof AkbError ? e : storeFailed(path, 'opening', e);
    }
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
    return this.query('telemetry', q, (r) => ({ device: r.device, ts: r.ts ?? 0, receivedAt: r.received_at, message: JSON.parse(r.message) as StoredTelemetry['message'] }));
  }

  status(q: RangeQuery): Promise<StoredStatus[]> {
    return this.query('status', q, (r) => ({ device: r.device, receivedAt: r.received_at, message: JSON.parse(r.message) as StoredStatus['message'] }));
  }

  alarms(q: RangeQuery): Promise<StoredAlarm[]> {
    return this.query('alarms', q, (r) => ({ device: r.device, receivedAt: r.received_at, message: JSON.parse(r.message) as StoredAlarm['message'] }));
  }

  devices(): Promise<DeviceSummary[]> {
    return this.run('listing devices', () =>
      (
        this.db
          .prepare('SELECT device, MIN(received_at) AS first, MAX(received_at) AS last, COUNT(*) AS n FROM telemetry GROUP BY device ORDER BY device')
          .all() as { device: string; first: number; last: number; n: number }[]
      ).map((r) => ({ device: r.device, firstSeen: r.first, lastSeen: r.last, samples: r.n })),
    );
  }

  prune(beforeMs: number): Promise<PruneResult> {
    return this.run('pruning', () => {
      const del = (kind: Kind): number => this.db.prepare(`DELETE FROM ${kind} WHERE received_at < ?`).run(beforeMs).changes;
      return this.db.transaction(() => ({ telemetry: del('telemetry'), status: del('status'), alarms: del('alarms') }))();
    });
  }

  stats(): Promise<StoreStats> {
    return this.run('counting', () => {
      const count = (sql: string): number => (this.db.prepare(sql).get() as { n: number }).n;
      return {
        kind: this.kind,
        telemetryRows: count('SELECT COUNT(*) AS n FROM telemetry'),
        statusRows: count('SELECT COUNT(*) AS n FROM status'),
        alarmRows: count('SELECT COUNT(*) AS n FROM alarms'),
        devices: count('SELECT COUNT(DISTINCT device) AS n FROM telemetry'),
      };
    });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.db.close();
    }
    return Promise.resolve();
  }

  private write(kind: Kind, rows: readonly (StoredTelemetry | StoredStatus | StoredAlarm)[]): Promise<void> {
    if (this.closed) return Promise.reject(closedStore(this.location));
    try {
      checkRows(this.location, rows, kind === 'telemetry');
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    if (rows.length === 0) return Promise.resolve();
    return this.run(`writing ${kind}`, () => this.writeMany[kind](rows));
  }

  private query<T>(kind: Kind, q: RangeQuery, map: (r: RowOut) => T): Promise<T[]> {
    return this.run(`querying ${kind}`, () => {
      const rows = this.select[kind].all(q.device, q.from ?? Number.MIN_SAFE_INTEGER, q.to ?? Number.MAX_SAFE_INTEGER, queryLimit(q)) as RowOut[];
      return rows.reverse().map(map);
    });
  }

  private run<T>(what: string, body: () => T): Promise<T> {
    if (this.closed) return Promise.reject(closedStore(this.location));
    try {
      return Promise.resolve(body());
    } catch (e) {
      return Promise.reject(storeFailed(this.location, what, e));
    }
  }
}

function migrate(db: Db, location: string): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const found = (db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v;
    if (found !== null && found > SCHEMA_VERSION) throw newerSchema(location, found);
    db.exec(SCHEMA);
    if (found === null) db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
  }).immediate();
}
