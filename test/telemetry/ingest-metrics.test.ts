/**
 * The Prometheus registry over the hub and the ingest (in memory: MemoryBus, no broker needed for what is
 * only arithmetic over counters): per-device gauges from the latest sample, counters by reason, the write
 * latency histogram, and the series of a device the hub forgets gone from the next scrape.
 */
import { describe, expect, it } from 'vitest';
import { encodeMessage, topics } from '@akb/protocol';
import { MemoryBus } from '@akb/protocol/mqtt';
import { FleetHub } from '../../runtime-cloud/src/telemetry/hub.js';
import { MemoryTelemetryStore } from '../../runtime-cloud/src/telemetry/memory-store.js';
import { Telemetry } from '../../runtime-cloud/src/telemetry/telemetry.js';
import { birth, sample } from './fixtures.js';
import { until } from './harness.js';

/** One sample line's value: `name{labels} value`. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('telemetry metrics', () => {
  it('exports the latest sample per device, ingest counters by reason and store write latency; forgotten devices drop out', async () => {
    const bus = new MemoryBus();
    const cloud = bus.client();
    const dev = bus.client();
    const hub = new FleetHub(2); // at most two devices: a third pushes out the least recently seen
    const t = await Telemetry.start(cloud, hub, { store: new MemoryTelemetryStore(), ingest: { flushMs: 10 } });
    try {
      for (const d of ['cam-a', 'cam-b']) await dev.publish(topics.status(d), encodeMessage('status', birth(d)), { qos: 1, retain: true });
      await dev.publish(topics.telemetry('cam-a'), encodeMessage('telemetry', sample('cam-a', 1, { snrDb: -2.5, quality: { psnr: 31.25 }, temperatureC: 55 })), { qos: 1 });
      await dev.publish(topics.telemetry('cam-b'), encodeMessage('telemetry', sample('cam-b', 1, { snrDb: null })), { qos: 1 });
      await dev.publish(topics.telemetry('cam-a'), 'not json', { qos: 1 });
      await dev.publish(topics.telemetry('ghost'), encodeMessage('telemetry', sample('ghost', 1)), { qos: 1 });
      await until(() => t.ingest.stats().written.telemetry, (n) => n === 2, 'two samples written');
      let text = await t.metrics.metrics();
      expect(value(text, 'akb_device_snr_db{device="cam-a"}')).toBe(-2.5);
      expect(value(text, 'akb_device_snr_db{device="cam-b"}')).toBeUndefined(); // null: no estimate yet
      expect(value(text, 'akb_device_psnr_db{device="cam-a"}')).toBe(31.25);
      expect(value(text, 'akb_device_temperature_celsius{device="cam-a"}')).toBe(55);
      expect(value(text, 'akb_device_rss_bytes{device="cam-a"}')).toBe(150 * 2 ** 20);
      expect(value(text, 'akb_device_online{device="cam-b"}')).toBe(1);
      expect(value(text, 'akb_device_last_seen_seconds{device="cam-a"}')).toBeGreaterThan(1e9);
      expect(value(text, 'akb_telemetry_samples_total')).toBe(2);
      expect(value(text, 'akb_telemetry_rejected_total{reason="malformed"}')).toBe(1);
      expect(value(text, 'akb_telemetry_rejected_total{reason="unknown"}')).toBe(1);
      expect(value(text, 'akb_telemetry_rejected_total{reason="spoofed"}')).toBe(0);
      expect(value(text, 'akb_telemetry_store_write_seconds_count{table="telemetry"}')).toBeGreaterThanOrEqual(1);
      expect(text).toContain('# TYPE akb_telemetry_rejected_total counter');
      // Counters only grow: a second scrape after one more sample adds exactly one.
      await dev.publish(topics.telemetry('cam-a'), encodeMessage('telemetry', sample('cam-a', 2)), { qos: 1 });
      await until(() => t.ingest.stats().samples, (n) => n === 3, 'a third sample');
      text = await t.metrics.metrics();
      expect(value(text, 'akb_telemetry_samples_total')).toBe(3);
      // A third device: the hub forgets cam-b (least recently seen), and so does /metrics.
      await dev.publish(topics.status('cam-c'), encodeMessage('status', birth('cam-c')), { qos: 1, retain: true });
      await until(() => hub.device('cam-c'), (s) => s !== undefined, 'cam-c known');
      text = await t.metrics.metrics();
      expect(text).not.toContain('device="cam-b"');
      expect(value(text, 'akb_device_online{device="cam-c"}')).toBe(1);
      expect(value(text, 'akb_devices')).toBe(2);
    } finally {
      await t.stop();
    }
  });
});
