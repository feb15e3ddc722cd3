/**
 * The telemetry ingest: every device's telemetry and status from the broker, checked, fed to the fleet
 * hub (which the alarms, /metrics and the dashboard read) and written to the store in batches.
 *
 * Every byte is hostile. A message passes, cheapest check first: its topic names a device in scope; the
 * device's token bucket (default 20/s, burst 40) has a token, so a flood from one device is dropped and
 * counted while the rest of the fleet is unaffected; it decodes (at most 16 KiB, JSON, the protocol
 * schema); the payload's `device` is the topic's (a device publishing as another is `spoofed`); and the
 * device is known. **Unknown devices**: a device is known once the cloud has seen its status (a birth,
 * a death or an install state; births are retained, so a cloud that starts later knows every connected
 * device at once). Telemetry of a device never seen is refused and counted as `unknown`, unless
 * `acceptUnknown` (`akb-cloud --accept-unknown`), so a client that makes up device ids cannot fill the store.
 *
 * Writes: rows wait in one bounded queue (default 20 000 rows; when full the oldest is dropped and counted
 * `queue-full`) and are written every 250 ms, or as soon as 500 wait, in batches of at most 500 rows, one
 * transaction each; one write at a time. A batch the store refuses is dropped and counted `store-error`.
 * Alarm states (from AlarmRules, through the hub) are stored the same way. Retention: rows older than
 * `retentionMs` (default 7 days) are pruned at start and every 10 minutes.
 */
import { ProtocolError, decodeMessage, filters, type StatusMessage, type TelemetryMessage } from '@akb/protocol';
import { Fanout, type AkbMessage, type MqttTransport } from '@akb/protocol/mqtt';
import { createLogger } from '@akb/protocol/log';
import type { FleetHub } from './hub.js';
import type { PruneResult, StoredAlarm, StoredStatus, StoredTelemetry, TelemetryStore } from './store.js';
import { BoundedQueue } from './bounded-queue.js';
import { RateLimiter } from './rate-limit.js';
import { DeviceScope } from '../scope.js';

export const REJECT_REASONS = ['malformed', 'schema', 'too-large', 'spoofed', 'unknown', 'rate', 'out-of-scope'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
export const DROP_REASONS = ['queue-full', 'store-error'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Largest telemetry or status message read (a sample is under 1 KiB). */
export const MAX_TELEMETRY_BYTES = 16 * 1024;
export const DEFAULT_RETENTION_MS = 7 * 86_400_000;

export interface IngestOptions {
  /** Messages a second per device, on average (default 20). */
  rate?: number;
  /** Messages at once per device (default 40). */
  burst?: number;
  /** Rows waiting for the store, at most (default 20 000). */
  maxQueue?: number;
  /** Rows per write (default 500); a write starts as soon as this many wait. */
  batchRows?: number;
  /** How often waiting rows are written (default 250 ms). */
  flushMs?: number;
  /** Store telemetry of devices whose status was never seen (default false: refused as `unknown`). */
  acceptUnknown?: boolean;
  /** Rows older than this are pruned (default 7 days). */
  retentionMs?: number;
  /** How often retention runs (default 10 minutes). */
  pruneEveryMs?: number;
  /** The devices served (default all). */
  scope?: DeviceScope;
  now?: () => number;
}

export interface StoreWrite {
  readonly kind: 'telemetry' | 'status' | 'alarms';
  readonly rows: number;
  readonly seconds: number;
  readonly ok: boolean;
}

export interface IngestStats {
  /** Telemetry samples accepted. */
  samples: number;
  /** Status messages accepted. */
  statuses: number;
  rejected: Record<RejectReason, number>;
  dropped: Record<DropReason, number>;
  written: { telemetry: number; status: number; alarms: number };
  queue: { length: number; max: number; highWater: number };
  lastPrune: (PruneResult & { at: number }) | null;
}

type Row = { kind: 'telemetry'; row: StoredTelemetry } | { kind: 'status'; row: StoredStatus } | { kind: 'alarms'; row: StoredAlarm };

const LOG_EVERY_MS = 10_000;

export class TelemetryIngest {
  /** Each store write, for the write-latency histogram. */
  readonly writes = new Fanout<StoreWrite>();
  private readonly counts = {
    samples: 0,
    statuses: 0,
    rejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    written: { telemetry: 0, status: 0, alarms: 0 },
  };
  private readonly queue: BoundedQueue<Row>;
  private readonly limiter: RateLimiter;
  private readonly batchRows: number;
  private readonly now: () => number;
  private readonly scope: DeviceScope;
  private readonly lastStatus = new Map<string, string>();
  private readonly log = createLogger('telemetry');
  private readonly loggedAt = new Map<string, number>();
  private readonly unroute: (() => void)[] = [];
  private readonly subscribed: string[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private flushing: Promise<void> | undefined;
  private lastPrune: IngestStats['lastPrune'] = null;
  private stopped = false;

  constructor(
    private readonly client: MqttTransport,
    readonly store: TelemetryStore,
    readonly hub: FleetHub,
    private readonly options: IngestOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.scope = options.scope ?? DeviceScope.all();
    this.queue = new BoundedQueue(options.maxQueue ?? 20_000);
    this.batchRows = options.batchRows ?? 500;
    this.limiter = new RateLimiter(options.rate ?? 20, options.burst ?? 40, Math.max(hub.maxDevices, 1), this.now);
  }

  get retentionMs(): number {
    return this.options.retentionMs ?? DEFAULT_RETENTION_MS;
  }

  /** Subscribes (QoS 1): status first, so retained births make devices known before their telemetry. */
  async start(): Promise<void> {
    this.unroute.push(this.client.onMessage(filters.allStatus, (m) => this.onStatus(m)));
    this.unroute.push(this.client.onMessage(filters.allTelemetry, (m) => this.onTelemetry(m)));
    this.unroute.push(this.hub.events.on((e) => (e.kind === 'alarm' ? this.enqueue({ kind: 'alarms', row: { device: e.device, receivedAt: e.receivedAt, message: e.message } }) : undefined)));
    for (const f of [...this.scope.filters('status'), filters.allTelemetry]) {
      await this.client.subscribe(f, { qos: 1 });
      this.subscribed.push(f);
    }
    const flush = setInterval(() => void this.flush(), this.options.flushMs ?? 250);
    const prune = setInterval(() => void this.prune(), this.options.pruneEveryMs ?? 600_000);
    flush.unref();
    prune.unref();
    this.timers.push(flush, prune);
    void this.prune();
  }

  /** Stops listening, writes what waits, and unsubscribes (`unsubscribe: false` when the connection closes anyway). */
  async stop(options: { unsubscribe?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const u of this.unroute.splice(0)) u();
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.flush();
    if (options.unsubscribe !== false) await Promise.allSettled(this.subscribed.map((f) => this.client.unsubscribe(f)));
  }

  stats(): IngestStats {
    const c = this.counts;
    return {
      samples: c.samples,
      statuses: c.statuses,
      rejected: { ...c.rejected },
      dropped: { ...c.dropped, 'queue-full': this.queue.dropped },
      written: { ...c.written },
      queue: { length: this.queue.length, max: this.queue.max, highWater: this.queue.highWater },
      lastPrune: this.lastPrune,
    };
  }

  /** Writes everything waiting now (one write at a time: a second call waits for the first). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    this.flushing = this.drain().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** Deletes rows older than the retention; errors are logged, never thrown. */
  async prune(): Promise<PruneResult | undefined> {
    const at = this.now();
    try {
      const result = await this.store.prune(at - this.retentionMs);
      this.lastPrune = { ...result, at };
      return result;
    } catch (err) {
      this.warn('prune', { err }, 'telemetry retention failed');
      return undefined;
    }
  }

  private onTelemetry(m: AkbMessage): void {
    const device = this.admit(m);
    if (device === undefined) return;
    const message = this.decode('telemetry', m.payload);
    if (message === undefined) return;
    if (message.device !== device) return this.reject('spoofed', device, `payload names ${message.device}`);
    if (!this.options.acceptUnknown && this.hub.device(device)?.status === undefined) return this.reject('unknown', device, 'no status seen yet');
    const receivedAt = this.now();
    this.counts.samples++;
    this.enqueue({ kind: 'telemetry', row: { device, ts: message.ts, receivedAt, message } });
    this.hub.publish({ kind: 'telemetry', device, receivedAt, message });
  }

  private onStatus(m: AkbMessage): void {
    // An empty retained message clears the topic (a test or a tool removing a device): nothing to ingest.
    if (m.payload.length === 0) return;
    const device = this.admit(m);
    if (device === undefined) return;
    const message = this.decode('status', m.payload);
    if (message === undefined) return;
    if (message.device !== device) return this.reject('spoofed', device, `payload names ${message.device}`);
    const receivedAt = this.now();
    this.counts.statuses++;
    // A retained status arrives again on every (re)subscribe: store each one once.
    const key = `${message.session}/${message.state}/${message.ts}`;
    if (this.lastStatus.get(device) !== key) {
      this.lastStatus.delete(device);
      this.lastStatus.set(device, key);
      if (this.lastStatus.size > this.hub.maxDevices) this.lastStatus.delete(this.lastStatus.keys().next().value as string);
      this.enqueue({ kind: 'status', row: { device, receivedAt, message } });
    }
    this.hub.publish({ kind: 'status', device, receivedAt, message });
  }

  /** The topic's device when it is in scope and has a token; otherwise counted and undefined. */
  private admit(m: AkbMessage): string | undefined {
    const device = m.topic.split('/')[3] ?? '';
    if (!this.scope.has(device)) {
      this.counts.rejected['out-of-scope']++;
      return undefined;
    }
    if (!this.limiter.take(device)) {
      this.reject('rate', device, `more than ${this.limiter.rate}/s (burst ${this.limiter.burst})`);
      return undefined;
    }
    return device;
  }

  private decode<K extends 'telemetry' | 'status'>(kind: K, payload: Buffer): (K extends 'telemetry' ? TelemetryMessage : StatusMessage) | undefined {
    try {
      return decodeMessage(kind, payload, { maxBytes: MAX_TELEMETRY_BYTES }) as K extends 'telemetry' ? TelemetryMessage : StatusMessage;
    } catch (e) {
      const reason: RejectReason = e instanceof ProtocolError && e.code === 'TOO_LARGE' ? 'too-large' : e instanceof ProtocolError && e.code === 'SCHEMA_VIOLATION' ? 'schema' : 'malformed';
      this.reject(reason, undefined, e instanceof Error ? e.message.slice(0, 200) : String(e));
      return undefined;
    }
  }

  private reject(reason: RejectReason, device: string | undefined, detail: string): void {
    this.counts.rejected[reason]++;
    this.warn(reason, { device, reason, detail, count: this.counts.rejected[reason] }, `telemetry refused (${reason})`);
  }

  private enqueue(row: Row): void {
    if (this.stopped && row.kind !== 'alarms') return;
    this.queue.push(row);
    if (this.queue.length >= this.batchRows && this.flushing === undefined) void this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.take(this.batchRows);
      const by = { telemetry: [] as StoredTelemetry[], status: [] as StoredStatus[], alarms: [] as StoredAlarm[] };
      for (const r of batch) (by[r.kind] as unknown[]).push(r.row);
      await this.write('status', by.status, (rows) => this.store.writeStatus(rows));
      await this.write('telemetry', by.telemetry, (rows) => this.store.writeTelemetry(rows));
      await this.write('alarms', by.alarms, (rows) => this.store.writeAlarms(rows));
    }
  }

  private async write<T>(kind: StoreWrite['kind'], rows: T[], run: (rows: T[]) => Promise<void>): Promise<void> {
    if (rows.length === 0) return;
    const start = process.hrtime.bigint();
    let ok = true;
    try {
      await run(rows);
      this.counts.written[kind] += rows.length;
    } catch (err) {
      ok = false;
      this.counts.dropped['store-error'] += rows.length;
      this.warn('store', { err, rows: rows.length, kind }, `telemetry store write failed: ${rows.length} ${kind} rows dropped`);
    }
    this.writes.emit({ kind, rows: rows.length, seconds: Number(process.hrtime.bigint() - start) / 1e9, ok });
  }

  /** Logs at most once every 10 s per key; everything is counted in stats() anyway. */
  private warn(key: string, fields: object, message: string): void {
    const now = Date.now();
    if (now - (this.loggedAt.get(key) ?? -Infinity) < LOG_EVERY_MS) return;
    this.loggedAt.set(key, now);
    this.log.warn(fields, message);
  }
}
