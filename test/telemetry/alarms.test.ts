/**
 * Alarm rules through a real broker (aedes and Mosquitto), on a fake clock: each kind is raised and
 * cleared with its hysteresis, the state is published retained on akb/v1/alarm/{device} (a client that
 * subscribes later reads it), stored, and exported as akb_alarm_active; a restarted cloud picks up the
 * retained state and clears it when the device recovers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AlarmMessage, decodeMessage, topics } from '@akb/protocol';
import { connectDevice, type AkbMqttClient } from '@akb/protocol/mqtt';
import { Inbox, availableBrokerKinds, testBirth, type BrokerHandle } from '../support/index.js';
import { FleetHub } from '../../runtime-cloud/src/telemetry/hub.js';
import { MemoryTelemetryStore } from '../../runtime-cloud/src/telemetry/memory-store.js';
import { Telemetry, type TelemetryOptions } from '../../runtime-cloud/src/telemetry/telemetry.js';
import { birth, death, sample } from './fixtures.js';
import { FakeClock, clearRetained, connect, publishSample, publishStatus, until } from './harness.js';

const MiB = 2 ** 20;

describe.each(availableBrokerKinds())('alarms on $name', (kind) => {
  let broker: BrokerHandle;
  let cloud: AkbMqttClient;
  let device: AkbMqttClient;
  let watcher: AkbMqttClient;
  const running: Telemetry[] = [];
  const inboxes: Inbox[] = [];
  const used = new Set<string>();

  beforeAll(async () => {
    broker = await kind.start();
    cloud = await connect(broker.url, 'cloud');
    device = await connect(broker.url, 'dev');
    watcher = await connect(broker.url, 'watch');
  });
  afterEach(async () => {
    for (const t of running.splice(0)) await t.stop();
    for (const i of inboxes.splice(0)) i.close();
    await clearRetained(device, [...used]);
    used.clear();
  });
  afterAll(async () => {
    for (const c of [cloud, device, watcher]) await c.close({ force: true });
    await broker.close();
  });

  const id = (name: string): string => {
    const d = `${name}-${kind.name}`;
    used.add(d);
    return d;
  };

  async function start(clock: FakeClock, options: Partial<TelemetryOptions> = {}): Promise<Telemetry> {
    const t = await Telemetry.start(cloud, new FleetHub(), { store: new MemoryTelemetryStore(), ...options, ingest: { now: clock.now, flushMs: 20, ...options.ingest } });
    running.push(t);
    return t;
  }

  /** The alarm states published for `d`, decoded, as they arrive. */
  async function states(d: string): Promise<{ inbox: Inbox; kinds: (n: number, timeoutMs?: number) => Promise<string[][]> }> {
    const inbox = await Inbox.open(watcher, topics.alarm(d));
    inboxes.push(inbox);
    return {
      inbox,
      kinds: async (n, timeoutMs) => (await inbox.waitFor(n, timeoutMs)).map((m) => decodeMessage('alarm', m.payload).active.map((a) => a.kind)),
    };
  }

  async function born(t: Telemetry, d: string): Promise<void> {
    const before = t.ingest.stats().statuses;
    await publishStatus(device, birth(d));
    await until(() => t.ingest.stats().statuses, (n) => n > before, `${d}'s birth`);
  }

  async function send(t: Telemetry, d: string, over: Parameters<typeof sample>[2], seq = 1): Promise<void> {
    const before = t.ingest.stats().samples;
    await publishSample(device, sample(d, seq, over));
    await until(() => t.ingest.stats().samples, (n) => n > before, `${d}'s sample`);
  }

  it('link-quality: raised below the PSNR threshold, kept within the 1 dB margin, cleared above it; retained, stored, exported', async () => {
    const clock = new FakeClock();
    const t = await start(clock, { alarms: { thresholds: { psnrDb: 20 } } });
    const cam = id('lq');
    const seen = await states(cam);
    await born(t, cam);
    await send(t, cam, { quality: { psnr: 17.2 } });
    expect(await seen.kinds(1)).toEqual([['link-quality']]);
    const raised = AlarmMessage.parse(decodeMessage('alarm', seen.inbox.messages[0]!.payload));
    expect(raised.active[0]).toMatchObject({ kind: 'link-quality', value: 17.2, threshold: 20, since: clock.t, message: 'PSNR 17.2 dB below 20.0 dB' });
    // A later subscriber reads the retained state.
    const late = await connect(broker.url, 'late');
    try {
      const inbox = await Inbox.open(late, topics.alarm(cam));
      expect(decodeMessage('alarm', (await inbox.waitFor(1))[0]!.payload).active.map((a) => a.kind)).toEqual(['link-quality']);
    } finally {
      await late.close({ force: true });
    }
    const text = await t.metrics.getSingleMetricAsString('akb_alarm_active');
    expect(text).toContain(`akb_alarm_active{device="${cam}",kind="link-quality"} 1`);
    expect(text).toContain(`akb_alarm_active{device="${cam}",kind="memory"} 0`);
    await send(t, cam, { quality: { psnr: 20.5 } }, 2); // above the threshold, within the margin: no change
    expect(t.alarms.active(cam).map((a) => a.kind)).toEqual(['link-quality']);
    await send(t, cam, { quality: { psnr: 21.5 } }, 3);
    expect(await seen.kinds(2)).toEqual([['link-quality'], []]);
    await t.ingest.flush();
    const stored = await t.store.alarms({ device: cam });
    expect(stored.map((r) => r.message.active.length)).toEqual([1, 0]);
    expect(t.alarms.stats().raised['link-quality']).toBe(1);
  });

  it('silent: after silentS without telemetry while online (once it has sent some since its birth), cleared by the next sample; a death by will raises it, a clean shutdown clears all', async () => {
    const clock = new FakeClock();
    const t = await start(clock, { alarms: { thresholds: { silentS: 30 } } });
    const cam = id('quiet');
    const seen = await states(cam);
    await born(t, cam);
    clock.advance(60_000);
    t.alarms.tick(); // no telemetry since its birth: nothing expected of it, not silent
    expect(t.alarms.active(cam)).toEqual([]);
    await send(t, cam, {});
    clock.advance(29_000);
    t.alarms.tick();
    clock.advance(2_000);
    t.alarms.tick();
    expect(await seen.kinds(1)).toEqual([['silent']]);
    expect(decodeMessage('alarm', seen.inbox.messages[0]!.payload).active[0]).toMatchObject({ value: 31, threshold: 30 });
    await send(t, cam, {}, 2);
    expect((await seen.kinds(2))[1]).toEqual([]);
    await publishStatus(device, death(cam, 'will'));
    expect((await seen.kinds(3))[2]).toEqual(['silent']);
    await born(t, cam);
    await send(t, cam, { quality: { psnr: 5 } }, 3);
    expect((await seen.kinds(5)).slice(3)).toEqual([[], ['link-quality']]);
    await publishStatus(device, death(cam, 'shutdown'));
    expect((await seen.kinds(6))[5]).toEqual([]);
    clock.advance(120_000);
    t.alarms.tick(); // offline: never silent
    expect(await seen.inbox.quiet(100)).toEqual([]);
  });

  it('silent when a real device\'s socket dies: the broker\'s last will raises it', async () => {
    // Thrown at it: the device's TCP socket destroyed without a DISCONNECT; the broker publishes its will.
    const clock = new FakeClock();
    const t = await start(clock);
    const cam = id('will');
    const seen = await states(cam);
    const dev = await connectDevice({ url: broker.url, deviceId: cam, birth: testBirth(cam), reconnectPeriodMs: 0, keepaliveSeconds: 5 });
    try {
      await until(() => t.hub.device(cam)?.status?.state, (s) => s === 'online', 'the birth');
      await publishSample(dev, sample(cam, 1));
      await until(() => t.ingest.stats().samples, (n) => n === 1, 'the sample');
      dev.raw.stream.destroy();
      expect(await seen.kinds(1, 15_000)).toEqual([['silent']]);
      expect(decodeMessage('alarm', seen.inbox.messages[0]!.payload).active[0]!.message).toMatch(/connection lost \(last will\)/);
    } finally {
      await dev.close({ force: true });
    }
  });

  it('memory at 0.8 of the profile\'s memory (5 % hysteresis), temperature above 80 °C (2 °C), snr-low only when set', async () => {
    const clock = new FakeClock();
    const t = await start(clock, { alarms: { thresholds: { snrDb: 0 }, memoryOf: (p) => (p === 'rpi-5' ? 1000 * MiB : undefined) } });
    const cam = id('hot');
    const seen = await states(cam);
    await born(t, cam);
    await send(t, cam, { memoryRssBytes: 801 * MiB, temperatureC: 81, snrDb: -1 });
    expect(await seen.kinds(1)).toEqual([['snr-low', 'memory', 'temperature']]);
    expect(t.alarms.active(cam).find((a) => a.kind === 'memory')).toMatchObject({ threshold: 800 * MiB, value: 801 * MiB });
    await send(t, cam, { memoryRssBytes: 770 * MiB, temperatureC: 79, snrDb: 0.5 }, 2); // within every margin
    expect(t.alarms.active(cam).map((a) => a.kind)).toEqual(['snr-low', 'memory', 'temperature']);
    await send(t, cam, { memoryRssBytes: 700 * MiB, temperatureC: 77, snrDb: 0.5 }, 3);
    expect((await seen.kinds(2))[1]).toEqual(['snr-low']);
    await send(t, cam, { snrDb: 2 }, 4);
    expect((await seen.kinds(3))[2]).toEqual([]);
  });

  it('link-down follows the device\'s link health (protocol 1.3): raised with the fault, kept while samples lack it, cleared when up', async () => {
    // Thrown at it: a serial modem unplugged (LINE_CLOSED), a sample without `link`, then the port back.
    const clock = new FakeClock();
    const t = await start(clock);
    const cam = id('lora');
    const seen = await states(cam);
    await born(t, cam);
    await send(t, cam, { link: { driver: 'serial', up: true, symbolEncoding: 'int8' } });
    await send(t, cam, { link: { driver: 'serial', up: false, fault: { code: 'LINE_CLOSED', message: 'the port closed', ts: clock.t } } }, 2);
    expect(await seen.kinds(1)).toEqual([['link-down']]);
    expect(t.alarms.active(cam)[0]).toMatchObject({ kind: 'link-down', value: null, threshold: 0, message: 'serial link down: LINE_CLOSED the port closed' });
    await send(t, cam, {}, 3);
    expect(t.alarms.active(cam).map((a) => a.kind)).toEqual(['link-down']);
    await send(t, cam, { link: { driver: 'serial', up: true } }, 4);
    expect((await seen.kinds(2))[1]).toEqual([]);
  });

  it('a restarted cloud reads the retained state back, keeps `since`, and clears it when the device recovers', async () => {
    const clock = new FakeClock();
    const first = await start(clock);
    const cam = id('restart');
    const seen = await states(cam);
    await born(first, cam);
    await send(first, cam, { quality: { psnr: 10 } });
    await seen.kinds(1);
    const since = clock.t;
    await first.stop();
    running.splice(running.indexOf(first), 1);
    clock.advance(60_000);
    const second = await start(clock);
    await until(() => second.alarms.active(cam), (a) => a.length === 1, 'the retained state read back');
    expect(second.alarms.active(cam)[0]).toMatchObject({ kind: 'link-quality', since });
    await send(second, cam, { quality: { psnr: 30 } }, 2);
    expect((await seen.kinds(2))[1]).toEqual([]);
  });
});
