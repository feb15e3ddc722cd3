/**
 * The telemetry side of the cloud in one piece: the ingest (store + hub), the alarm rules and the
 * Prometheus registry, started and stopped together. CloudService starts it with its `telemetry` option;
 * tests and tools can start it on any MqttTransport.
 */
import type { MqttTransport } from '@akb/protocol/mqtt';
import type { Registry } from 'prom-client';
import { FleetHub } from './hub.js';
import type { TelemetryStore } from './store.js';
import { TelemetryIngest, type IngestOptions } from './ingest.js';
import { AlarmRules, type AlarmRulesOptions } from './alarms.js';
import { createTelemetryMetrics } from './metrics.js';

export interface TelemetryOptions {
  /** Where samples, statuses and alarm states are kept; stopping the telemetry closes it. */
  store: TelemetryStore;
  /** Rows older than this are pruned (default 7 days). */
  retentionMs?: number;
  alarms?: AlarmRulesOptions;
  ingest?: Omit<IngestOptions, 'retentionMs'>;
}

export class Telemetry {
  private constructor(
    readonly hub: FleetHub,
    readonly ingest: TelemetryIngest,
    readonly alarms: AlarmRules,
    readonly metrics: Registry,
  ) {}

  get store(): TelemetryStore {
    return this.ingest.store;
  }

  static async start(client: MqttTransport, hub: FleetHub, options: TelemetryOptions): Promise<Telemetry> {
    const ingest = new TelemetryIngest(client, options.store, hub, { ...options.ingest, ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}) });
    const alarms = new AlarmRules(client, hub, { ...options.alarms, ...(options.ingest?.now ? { now: options.ingest.now } : {}) });
    // Alarms first: the retained states of a previous run are read before the first sample is judged.
    try {
      await alarms.start();
      await ingest.start();
    } catch (e) {
      // Started or not, the store is the telemetry's: closed on failure as on stop().
      await alarms.stop().catch(() => undefined);
      await ingest.stop().catch(() => undefined);
      await options.store.close().catch(() => undefined);
      throw e;
    }
    return new Telemetry(hub, ingest, alarms, createTelemetryMetrics(hub, ingest, alarms));
  }

  /** Stops listening, writes what waits, closes the store. `unsubscribe: false` when the connection closes anyway. */
  async stop(options: { unsubscribe?: boolean } = {}): Promise<void> {
    await this.alarms.stop(options);
    await this.ingest.stop(options);
    await this.ingest.store.close();
  }
}
