/**
 * The telemetry store in memory, for unit tests and for a cloud run with `--db memory:` (nothing kept
 * across restarts). Same contract as the SQLite and PostgreSQL stores (test/telemetry/store-suite.ts holds
 * all three to it): rows are copied in, queries return the newest `limit` rows of a range, oldest first.
 */
import { queryLimit, type DeviceSummary, type PruneResult, type RangeQuery, type StoreStats, type StoredAlarm, type StoredStatus, type StoredTelemetry, type TelemetryStore } from './store.js';
import { checkRows, closedStore } from './store-errors.js';

interface Row {
  readonly device: string;
  readonly receivedAt: number;
}

/** Rows of one kind, per device, in insertion order (receivedAt is not assumed monotonic). */
class Series<T extends Row> {
  readonly byDevice = new Map<string, T[]>();

  add(rows: readonly T[]): void {
    for (const r of rows) {
      let list = this.byDevice.get(r.device);
      if (list === undefined) this.byDevice.set(r.device, (list = []));
      list.push(structuredClone(r));
    }
  }

  query(q: RangeQuery): T[] {
    const from = q.from ?? -Infinity;
    const to = q.to ?? Infinity;
    const hits = (this.byDevice.get(q.device) ?? []).filter((r) => r.receivedAt >= from && r.receivedAt < to);
    // Stable sort: equal receivedAt keep insertion order, as the SQL stores' (received_at, id) order does.
    hits.sort((a, b) => a.receivedAt - b.receivedAt);
    return hits.slice(-queryLimit(q)).map((r) => structuredClone(r));
  }

  prune(before: number): number {
    let removed = 0;
    for (const [device, list] of this.byDevice) {
      const kept = list.filter((r) => r.receivedAt >= before);
      removed += list.length - kept.length;
      if (kept.length === 0) this.byDevice.delete(device);
      else this.byDevice.set(device, kept);
    }
    return removed;
  }

  get count(): number {
    let n = 0;
    for (const list of this.byDevice.values()) n += list.length;
    return n;
  }
}

export class MemoryTelemetryStore implements TelemetryStore {
  readonly kind = 'memory' as const;
  readonly location = 'memory';
  private readonly t = new Series<StoredTelemetry>();
  private readonly s = new Series<StoredStatus>();
  private readonly a = new Series<StoredAlarm>();
  private closed = false;

  writeTelemetry(rows: readonly StoredTelemetry[]): Promise<void> {
    return this.run(() => {
      checkRows(this.location, rows, true);
      this.t.add(rows);
    });
  }

  writeStatus(rows: readonly StoredStatus[]): Promise<void> {
    return this.run(() => {
      checkRows(this.location, rows, false);
      this.s.add(rows);
    });
  }

  writeAlarms(rows: readonly StoredAlarm[]): Promise<void> {
    return this.run(() => {
      checkRows(this.location, rows, false);
      this.a.add(rows);
    });
  }

  telemetry(q: RangeQuery): Promise<StoredTelemetry[]> {
    return this.run(() => this.t.query(q));
  }

  status(q: RangeQuery): Promise<StoredStatus[]> {
    return this.run(() => this.s.query(q));
  }

  alarms(q: RangeQuery): Promise<StoredAlarm[]> {
    return this.run(() => this.a.query(q));
  }

  devices(): Promise<DeviceSummary[]> {
    return this.run(() =>
      [...this.t.byDevice]
        .map(([device, rows]) => ({
          device,
          firstSeen: Math.min(...rows.map((r) => r.receivedAt)),
          lastSeen: Math.max(...rows.map((r) => r.receivedAt)),
          samples: rows.length,
        }))
        .sort((x, y) => (x.device < y.device ? -1 : x.device > y.device ? 1 : 0)),
    );
  }

  prune(beforeMs: number): Promise<PruneResult> {
    return this.run(() => ({ telemetry: this.t.prune(beforeMs), status: this.s.prune(beforeMs), alarms: this.a.prune(beforeMs) }));
  }

  stats(): Promise<StoreStats> {
    return this.run(() => ({ kind: this.kind, telemetryRows: this.t.count, statusRows: this.s.count, alarmRows: this.a.count, devices: this.t.byDevice.size }));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private run<T>(body: () => T): Promise<T> {
    if (this.closed) return Promise.reject(closedStore(this.location));
    try {
      return Promise.resolve(body());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
