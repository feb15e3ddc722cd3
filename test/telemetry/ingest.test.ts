/**
 * The ingest through a real broker (aedes and Mosquitto): what a device publishes is stored and reaches
 * the hub; hostile input (malformed JSON, a wrong schema, a device publishing as another, a device never
 * seen, a huge payload, a flood of 1000 messages) is refused and counted by reason, and the rest of the
 * fleet is unaffected.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import type { AkbMqttClient } from '@akb/protocol/mqtt';
import { availableBrokerKinds, type BrokerHandle } from '../support/index.js';
import { FleetHub } from '../../runtime-cloud/src/telemetry/hub.js';
import { MemoryTelemetryStore } from '../../runtime-cloud/src/telemetry/memory-store.js';
import { TelemetryIngest, type IngestOptions } from '../../runtime-cloud/src/telemetry/ingest.js';
import { birth, sample } from './fixtures.js';
import { FakeClock, clearRetained, connect, publishSample, publishStatus, until } from './harness.js';

describe.each(availableBrokerKinds())('telemetry ingest on $name', (kind) => {
  let broker: BrokerHandle;
  let cloud: AkbMqttClient;
  let device: AkbMqttClient;
  const running: TelemetryIngest[] = [];
  const used = new Set<string>();

  beforeAll(async () => {
    broker = await kind.start();
    cloud = await connect(broker.url, 'cloud');
    device = await connect(broker.url, 'dev');
  });
  afterEach(async () => {
    for (const i of running.splice(0)) await i.stop();
    await clearRetained(device, [...used]);
    used.clear();
  });
  afterAll(async () => {
    await cloud.close({ force: true });
    await device.close({ force: true });
    await broker.close();
  });

  async function start(options: IngestOptions = {}, store = new MemoryTelemetryStore(), hub = new FleetHub()): Promise<TelemetryIngest> {
    const ingest = new TelemetryIngest(cloud, store, hub, { flushMs: 20, ...options });
    await ingest.start();
    running.push(ingest);
    return ingest;
  }

  const id = (name: string): string => {
    const d = `${name}-${kind.name}`;
    used.add(d);
    return d;
  };

  it('stores what a born device publishes and hands it to the hub', async () => {
    const ingest = await start();
    const cam = id('cam-01');
    await publishStatus(device, birth(cam));
    await until(() => ingest.stats().statuses, (n) => n === 1, 'the birth');
    for (let i = 0; i < 5; i++) await publishSample(device, sample(cam, i));
    await until(() => ingest.stats().written.telemetry, (n) => n === 5, 'five samples written');
    const rows = await ingest.store.telemetry({ device: cam });
    expect(rows.map((r) => r.message.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(await ingest.store.status({ device: cam })).toHaveLength(1);
    expect(ingest.hub.device(cam)?.telemetry?.seq).toBe(4);
    expect(ingest.hub.device(cam)?.status?.state).toBe('online');
  });

  it('refuses malformed JSON, a wrong schema, a device acting as another, an unknown device and a huge payload, counting each', async () => {
    const ingest = await start();
    const good = id('good');
    const victim = id('victim');
    const stranger = id('stranger');
    await publishStatus(device, birth(good));
    await publishStatus(device, birth(victim));
    await until(() => ingest.stats().statuses, (n) => n === 2, 'two births');
    await device.publish(topics.telemetry(good), '{"v":1,"device":', { qos: 1 }); // cut short
    await device.publish(topics.telemetry(good), Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 }); // not UTF-8
    await device.publish(topics.telemetry(good), JSON.stringify({ ...sample(good, 1), snrDb: 'high' }), { qos: 1 }); // wrong type
    await device.publish(topics.telemetry(good), JSON.stringify({ ...sample(good, 1), extra: 1 }), { qos: 1 }); // unknown field
    await publishSample(device, sample(good, 2), victim); // good's sample on victim's topic
    await publishSample(device, sample(stranger, 3)); // never born
    await device.publish(topics.telemetry(good), Buffer.alloc(300 * 1024, 0x20), { qos: 1 }); // 300 KiB of spaces
    await publishSample(device, sample(good, 9));
    await until(() => ingest.stats().written.telemetry, (n) => n === 1, 'the one good sample written');
    const s = ingest.stats();
    expect(s.rejected).toMatchObject({ malformed: 2, schema: 2, spoofed: 1, unknown: 1, 'too-large': 1, rate: 0 });
    expect(s.samples).toBe(1);
    expect((await ingest.store.telemetry({ device: good })).map((r) => r.message.seq)).toEqual([9]);
    expect(await ingest.store.telemetry({ device: victim })).toEqual([]);
    expect(await ingest.store.telemetry({ device: stranger })).toEqual([]);
    expect(ingest.hub.device(stranger)).toBeUndefined();
  });

  it('with acceptUnknown, stores a device whose status was never seen', async () => {
    const ingest = await start({ acceptUnknown: true });
    const stranger = id('stranger2');
    await publishSample(device, sample(stranger, 1));
    await until(() => ingest.stats().written.telemetry, (n) => n === 1, 'the sample written');
    expect(ingest.stats().rejected.unknown).toBe(0);
  });

  it('drops a flood of 1000 messages from one device beyond its bucket; another device loses nothing', async () => {
    const clock = new FakeClock(); // time stands still: the flood gets its burst and no more
    const ingest = await start({ now: clock.now, rate: 20, burst: 40 });
    const flood = id('flood');
    const calm = id('calm');
    await publishStatus(device, birth(flood));
    await publishStatus(device, birth(calm));
    await until(() => ingest.stats().statuses, (n) => n === 2, 'two births');
    const other = await connect(broker.url, 'calm');
    try {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 1000; i++) sends.push(publishSample(device, sample(flood, i)));
      for (let i = 0; i < 10; i++) sends.push(publishSample(other, sample(calm, i)));
      await Promise.all(sends);
      await until(() => ingest.stats(), (s) => s.samples + s.rejected.rate === 1010, 'every message counted');
    } finally {
      await other.close({ force: true });
    }
    const s = ingest.stats();
    // Each device's birth took one token: the flood device had 39 left.
    expect(s.rejected.rate).toBe(1000 - 39);
    await ingest.flush();
    expect(await ingest.store.telemetry({ device: flood, limit: 10_000 })).toHaveLength(39);
    expect((await ingest.store.telemetry({ device: calm })).map((r) => r.message.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('keeps at most maxQueue rows while the store is stuck, dropping the oldest and counting them', async () => {
    const store = new StuckStore();
    const ingest = await start({ acceptUnknown: true, maxQueue: 100, batchRows: 50, rate: 1e6, burst: 1e6 }, store);
    const cams = [id('q1'), id('q2'), id('q3')];
    // In rounds of 60 (the broker acknowledges each round before the next), oldest first.
    for (let round = 0; round < 10; round++) {
      const sends: Promise<void>[] = [];
      for (let i = round * 20; i < (round + 1) * 20; i++) for (const c of cams) sends.push(publishSample(device, sample(c, i)));
      await Promise.all(sends);
    }
    await until(() => ingest.stats().samples, (n) => n === 600, 'every sample accepted', 30_000);
    const s = ingest.stats();
    store.release(); // before any expectation, so that a failure does not leave the ingest's stop waiting on it
    expect(s.queue.highWater).toBeLessThanOrEqual(100);
    expect(s.queue.length).toBeLessThanOrEqual(100);
    // One batch (at most 50 rows: fewer when the 250 ms timer fired first) is held by the stuck write; the
    // queue holds at most 100; the rest were dropped.
    const dropped = s.dropped['queue-full'] ?? 0;
    expect(dropped).toBeGreaterThanOrEqual(600 - 50 - 100);
    await ingest.flush();
    const after = ingest.stats();
    expect(after.written.telemetry + dropped).toBe(600);
    const kept = (await Promise.all(cams.map((c) => store.telemetry({ device: c, limit: 1000 })))).flat();
    // The newest rows are the ones kept: every device's last sample is there.
    for (const c of cams) expect(kept.some((r) => r.device === c && r.message.seq === 199)).toBe(true);
  }, 60_000);

  it('prunes rows older than the retention at start', async () => {
    const clock = new FakeClock();
    const store = new MemoryTelemetryStore();
    const cam = id('old');
    await store.writeTelemetry([
      { device: cam, ts: 1, receivedAt: clock.t - 8 * 86_400_000, message: sample(cam, 1) },
      { device: cam, ts: 2, receivedAt: clock.t - 6 * 86_400_000, message: sample(cam, 2) },
    ]);
    const ingest = await start({ now: clock.now, retentionMs: 7 * 86_400_000 }, store);
    await until(() => ingest.stats().lastPrune, (p) => p !== null, 'the first prune');
    expect(ingest.stats().lastPrune).toMatchObject({ telemetry: 1 });
    expect((await store.telemetry({ device: cam })).map((r) => r.message.seq)).toEqual([2]);
  });
});

/** A store whose first write never finishes until released: the ingest's queue must stay bounded meanwhile. */
class StuckStore extends MemoryTelemetryStore {
  private gate: Promise<void>;
  release!: () => void;

  constructor() {
    super();
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  override async writeTelemetry(rows: Parameters<MemoryTelemetryStore['writeTelemetry']>[0]): Promise<void> {
    await this.gate;
    return super.writeTelemetry(rows);
  }
}
