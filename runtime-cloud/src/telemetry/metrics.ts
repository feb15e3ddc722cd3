/**
 * Prometheus metrics of the fleet and the ingest (prom-client), in a Registry of their own that akb-cloud
 * serves at `/metrics`, so Grafana's Prometheus data source works unchanged.
 *
 * Per device, read from the fleet hub at each scrape: akb_device_online (1 while the last status is a
 * birth or an install step, 0 after a death), akb_device_snr_db, akb_device_psnr_db, akb_device_rss_bytes,
 * akb_device_cpu_percent, akb_device_temperature_celsius (each from the latest sample, absent while it
 * has none), akb_device_last_seen_seconds (when the cloud last heard of it, seconds since the epoch) and
 * akb_alarm_active{device,kind} (1 or 0 for every kind). Cardinality is bounded by the hub: a device the
 * hub forgets (beyond its limit) drops out of the next scrape, with all its series.
 *
 * Ingest counters: akb_telemetry_samples_total, akb_telemetry_statuses_total,
 * akb_telemetry_rejected_total{reason}, akb_telemetry_dropped_total{reason},
 * akb_telemetry_rows_written_total{table}, akb_telemetry_queue_rows, the store's write latency
 * akb_telemetry_store_write_seconds{table} (a histogram), and akb_alarms_raised_total{kind}.
 */
import { ALARM_KINDS } from '@akb/protocol';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeviceState, FleetHub } from './hub.js';
import { DROP_REASONS, REJECT_REASONS, type TelemetryIngest } from './ingest.js';
import type { AlarmRules } from './alarms.js';

type Num = (s: DeviceState) => number | null | undefined;

const DEVICE_GAUGES: readonly [string, string, Num][] = [
  ['akb_device_online', 'Whether the device is connected: 1 after a birth (or an install step), 0 after a death.', (s) => (s.status === undefined ? undefined : s.status.state === 'offline' ? 0 : 1)],
  ['akb_device_snr_db', 'The device\'s latest SNR estimate, dB.', (s) => s.telemetry?.snrDb],
  ['akb_device_psnr_db', 'The latest reconstruction PSNR the device reported, dB.', (s) => s.telemetry?.quality?.psnr],
  ['akb_device_rss_bytes', 'Resident memory of the device\'s runtime, bytes.', (s) => s.telemetry?.memoryRssBytes],
  ['akb_device_cpu_percent', 'CPU use of the device\'s runtime, % of one core.', (s) => s.telemetry?.cpuPercent],
  ['akb_device_temperature_celsius', 'Board temperature, °C.', (s) => s.telemetry?.temperatureC],
  ['akb_device_last_seen_seconds', 'When the cloud last heard of the device, seconds since the epoch.', (s) => s.lastSeen / 1000],
];

/** A counter that follows a running total read at scrape time (it only adds the increase). */
function followingCounter(registry: Registry, name: string, help: string, label: string | undefined, read: () => Record<string, number>): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: label !== undefined ? [label] : [],
    registers: [registry],
    collect() {
      for (const [key, total] of Object.entries(read())) {
        const delta = total - (last.get(key) ?? 0);
        last.set(key, total);
        // inc(0) too, so every series exists from the first scrape and rate() works at once.
        if (label !== undefined) this.inc({ [label]: key }, Math.max(0, delta));
        else this.inc(Math.max(0, delta));
      }
    },
  });
}

export function createTelemetryMetrics(hub: FleetHub, ingest?: TelemetryIngest, alarms?: AlarmRules): Registry {
  const registry = new Registry();
  for (const [name, help, read] of DEVICE_GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: ['device'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of hub.list()) {
          const v = read(s);
          if (typeof v === 'number' && Number.isFinite(v)) this.set({ device: s.device }, v);
        }
      },
    });
  }
  new Gauge({
    name: 'akb_alarm_active',
    help: 'Whether an alarm of this kind is active for the device (1) or not (0).',
    labelNames: ['device', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of hub.list()) {
        const active = new Set(s.alarm?.active.map((a) => a.kind) ?? []);
        for (const kind of ALARM_KINDS) this.set({ device: s.device, kind }, active.has(kind) ? 1 : 0);
      }
    },
  });
  new Gauge({ name: 'akb_devices', help: 'Devices the cloud knows now (at most the hub\'s limit).', registers: [registry], collect() { this.set(hub.size); } });
  if (ingest !== undefined) {
    followingCounter(registry, 'akb_telemetry_samples_total', 'Telemetry samples accepted.', undefined, () => ({ all: ingest.stats().samples }));
    followingCounter(registry, 'akb_telemetry_statuses_total', 'Status messages accepted.', undefined, () => ({ all: ingest.stats().statuses }));
    followingCounter(registry, 'akb_telemetry_rejected_total', `Messages refused, by reason (${REJECT_REASONS.join(', ')}).`, 'reason', () => ingest.stats().rejected);
    followingCounter(registry, 'akb_telemetry_dropped_total', `Accepted rows never stored, by reason (${DROP_REASONS.join(', ')}).`, 'reason', () => ingest.stats().dropped);
    followingCounter(registry, 'akb_telemetry_rows_written_total', 'Rows written to the store, by table.', 'table', () => ingest.stats().written);
    new Gauge({ name: 'akb_telemetry_queue_rows', help: 'Rows waiting to be written to the store.', registers: [registry], collect() { this.set(ingest.stats().queue.length); } });
    const latency = new Histogram({
      name: 'akb_telemetry_store_write_seconds',
      help: 'How long one batch write to the telemetry store took, seconds.',
      labelNames: ['table'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    ingest.writes.on((w) => latency.observe({ table: w.kind }, w.seconds));
  }
  if (alarms !== undefined) {
    followingCounter(registry, 'akb_alarms_raised_total', 'Alarms raised, by kind.', 'kind', () => alarms.stats().raised);
  }
  return registry;
}
