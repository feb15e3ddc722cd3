import { DUTY_CYCLE_REGIONS, EdgeConfig, Reassembler, decodeFrame, encodeMessage, fragmentSymbols, topics, type FeedbackMessage, type FrameMeta, type LinkConfig } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { measureSnrDb, seededRandom } from '@akb/protocol';
import { Channel, constantSnr } from '../channel/index.js';
import { DUTY_CYCLE } from '../radio/airtime.js';
import { MemoryBus } from '@akb/protocol/mqtt';
import type { RelayedFragment } from '../emulator/relay.js';
import { preferredDtype, type LinkDriver } from './driver.js';
import { EmulatedLink } from './emulated.js';
import { MqttLink } from './mqtt.js';
import { LinkRegistry, createLinkRegistry, linkOptionsFromConfig } from './registry.js';

const meta = (frameId: number): FrameMeta => ({ deviceId: 2, sessionId: 4, frameId, actionId: 1, kbVersion: 1, timestampUs: 0 });
const symbols = (n: number): Float32Array => Float32Array.from({ length: 2 * n }, (_, i) => Math.cos(i) * 0.7);
const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));
const feedback: FeedbackMessage = {
  v: 1, session: 4, frameId: 0, ts: 1_764_000_000_000, snrDb: 9.5,
  erasures: { fragmentsExpected: 2, fragmentsLost: 0 }, kbVersion: 1, kbVersionMismatch: false,
};

describe('link registry', () => {
  it('is an instance: fresh registries do not share drivers; names are unique; unknown names are typed errors', async () => {
    const a = createLinkRegistry();
    const b = new LinkRegistry();
    expect(a.names()).toEqual(expect.arrayContaining(['emulated', 'mqtt', 'serial']));
    expect(b.names()).toEqual([]);
    const fake = { name: 'serial' } as unknown as LinkDriver;
    const withSerial = b.register('serial', (o: { path: string }) => Promise.resolve(o.path === '/dev/x' ? fake : fake));
    expect(await withSerial.open('serial', { path: '/dev/x' })).toBe(fake);
    expect(() => b.register('serial', () => Promise.resolve(fake))).toThrow(expect.objectContaining({ code: 'DUPLICATE_LINK_DRIVER' }) as Error);
    await expect((a as unknown as LinkRegistry).open('xbee', {})).rejects.toMatchObject({ code: 'UNKNOWN_LINK_DRIVER', hint: expect.stringMatching(/^available: emulated, mqtt\b/u) as unknown as string });
  });

  it('maps the serial section to the serial driver (feedback through the broker) and sdr-udp with its pacing rate', () => {
    const client = new MemoryBus().client();
    const ctx = { deviceId: 'cam', client };
    const lora = EdgeConfig.parse({ deviceId: 'cam', link: { driver: 'serial', path: '/dev/ttyUSB0', modem: { kind: 'rn2483', sf: 12 }, dutyCycle: 'eu868-g1', maxRetries: 1 } });
    expect(linkOptionsFromConfig(lora.link, ctx)).toEqual({
      driver: 'serial',
      options: { path: '/dev/ttyUSB0', modem: { kind: 'rn2483', sf: 12, bwKhz: 125, cr: 1 }, mtu: 1024, dutyCycle: 'eu868-g1', maxRetries: 1, client, deviceId: 'cam' },
    });
    const e32 = EdgeConfig.parse({ deviceId: 'cam', link: { driver: 'serial', path: 'p', baudRate: 9600, modem: { kind: 'e32', airBitsPerSecond: 2400 }, responseTimeoutMs: 200 } });
    expect(linkOptionsFromConfig(e32.link, ctx).options).toMatchObject({ baudRate: 9600, modem: { kind: 'e32', airBitsPerSecond: 2400, packetBytes: 58 }, responseTimeoutMs: 200 });
    const sdr = EdgeConfig.parse({ deviceId: 'cam', link: { driver: 'sdr-udp', port: 52001, sampleRateHz: 20_000 } });
    expect(linkOptionsFromConfig(sdr.link, ctx)).toMatchObject({ driver: 'sdr-udp', options: { port: 52001, payloadBytes: 1472, sampleRateHz: 20_000 } });
  });

  it("names the duty-cycle regions the configuration schema lists, and no others", () => {
    expect([...DUTY_CYCLE_REGIONS].sort()).toEqual(Object.keys(DUTY_CYCLE).sort());
  });

  it('maps the edge configuration: emulated in process, emulated as a service (mqtt), mqtt; refuses what is not built', () => {
    const client = new MemoryBus().client();
    const ctx = { deviceId: 'cam', client };
    const cfg = (c: object): LinkConfig => c as LinkConfig;
    expect(linkOptionsFromConfig(cfg({ driver: 'mqtt', mtu: 512 }), ctx)).toMatchObject({ driver: 'mqtt', options: { mtu: 512, deviceId: 'cam' } });
    expect(linkOptionsFromConfig(cfg({ driver: 'emulated', where: 'service', channel: 'awgn', snrDb: 10 }), ctx).driver).toBe('mqtt');
    const local = linkOptionsFromConfig(cfg({ driver: 'emulated', where: 'in-process', channel: 'rayleigh', snrDb: 7, dopplerHz: 5 }), ctx);
    expect(local.driver).toBe('emulated');
    if (local.driver === 'emulated') expect(local.options.channel.describe()).toContain('gauss-markov fading');
    for (const [c, code] of [
      [{ driver: 'sdr-udp', host: '127.0.0.1', port: 5, localPort: 0, datagramBytes: 1472, sampleDtype: 'ci16_le', sampleRateHz: 1e6 }, 'LINK_DRIVER_UNAVAILABLE'],
      [{ driver: 'emulated', where: 'in-process', channel: 'ota', snrDb: 1 }, 'INVALID_CHANNEL'],
      [{ driver: 'emulated', where: 'in-process', channel: 'gilbert-elliott', snrDb: 1 }, 'INVALID_CHANNEL'],
    ] as const) {
      expect(() => linkOptionsFromConfig(cfg(c), ctx)).toThrow(expect.objectContaining({ code }) as Error);
    }
  });
});

describe('mqtt link', () => {
  it('publishes fragments on link/tx, states its MTU and dtypes, and refuses what does not fit', async () => {
    const bus = new MemoryBus();
    const link = await MqttLink.open({ client: bus.client(), deviceId: 'cam', mtu: 200, dtypes: ['int8', 'float16'] });
    expect(link.capabilities).toEqual({ mtu: 200, dtypes: ['int8', 'float16'] });
    expect(preferredDtype(link.capabilities)).toBe('int8');
    const fragments = fragmentSymbols(meta(0), symbols(200), { mtu: 200, dtype: 'int8' });
    await link.send(fragments);
    expect(bus.log.map((p) => p.topic)).toEqual(fragments.map(() => topics.linkTx('cam')));
    expect(link.stats).toMatchObject({ fragmentsSent: fragments.length, bytesSent: fragments.reduce((s, f) => s + f.length, 0) });
    // Thrown at it: a fragment over the MTU, a float32 fragment the gateway does not carry, bytes that are no frame.
    await expect(link.send(fragmentSymbols(meta(1), symbols(200), { mtu: 400, dtype: 'int8' }))).rejects.toMatchObject({ code: 'FRAGMENT_TOO_LARGE' });
    await expect(link.send(fragmentSymbols(meta(1), symbols(10), { mtu: 200, dtype: 'float32' }))).rejects.toMatchObject({ code: 'DTYPE_UNSUPPORTED' });
    await expect(link.send([new Uint8Array(10)])).rejects.toMatchObject({ code: 'BAD_MAGIC' });
    expect(bus.log).toHaveLength(fragments.length); // nothing of a refused batch went out
    await link.close();
  });

  it('hands valid feedback to listeners and counts malformed feedback', async () => {
    const bus = new MemoryBus();
    const link = await MqttLink.open({ client: bus.client(), deviceId: 'cam' });
    const got: FeedbackMessage[] = [];
    const errors: Error[] = [];
    link.onFeedback((f) => void got.push(f));
    link.onError((e) => void errors.push(e));
    const cloud = bus.client();
    // Thrown at it: one valid feedback, one that is not JSON, one that breaks the schema.
    await cloud.publish(topics.feedback('cam'), encodeMessage('feedback', feedback));
    await cloud.publish(topics.feedback('cam'), '{not json');
    await cloud.publish(topics.feedback('cam'), JSON.stringify({ ...feedback, snrDb: 'high' }));
    await tick();
    expect(got).toEqual([feedback]);
    expect(link.stats).toMatchObject({ feedbackReceived: 1, feedbackMalformed: 2 });
    expect(errors.map((e) => (e as Error & { code: string }).code)).toEqual(['BAD_JSON', 'SCHEMA_VIOLATION']);
    await link.close();
    await cloud.publish(topics.feedback('cam'), encodeMessage('feedback', feedback));
    await tick();
    expect(got).toHaveLength(1); // closed: no more
  });
});

describe('emulated link', () => {
  it('delivers received fragments to a callback with side information; the receiver reassembles them', async () => {
    const received: RelayedFragment[] = [];
    const link = await EmulatedLink.open({
      deviceId: 'cam',
      channel: new Channel({ snr: constantSnr(12) }, seededRandom(1)),
      deliver: { kind: 'callback', onReceive: (f) => void received.push(f) },
      mtu: 300,
      rate: { symbolsPerSecond: 1e6 },
    });
    expect(link.capabilities).toEqual({ mtu: 300, dtypes: ['float32', 'float16', 'int8'], rate: { symbolsPerSecond: 1e6 } });
    const sent = symbols(1000);
    await link.send(fragmentSymbols(meta(0), sent, { mtu: 300, dtype: 'float32' }));
    expect(received).toHaveLength(0); // delivery waits for its (zero) delay
    await tick();
    const r = new Reassembler({ timeoutMs: 1000, maxPendingFrames: 4, maxTotalSymbols: 4096 });
    const frame = received.map((f) => r.push(f.bytes)).find((x) => x !== undefined);
    expect(frame?.complete).toBe(true);
    expect(Math.abs(measureSnrDb(sent, frame!.values) - (12 + 10 * Math.log10(0.49)))).toBeLessThan(0.5);
    expect(received[0]!.side).toMatchObject({ snrDb: 12, effectiveSnrDb: 12, equalized: false });
    link.receiveFeedback(feedback);
    expect(link.stats.feedbackReceived).toBe(1);
    await link.close();
  });

  it('publishes on link/rx; jitter reorders fragments unless keepOrder', async () => {
    // Thrown at it: 20 fragments sent at once, each delayed 40 ± 39 ms.
    const run = async (keepOrder: boolean): Promise<number[]> => {
      const bus = new MemoryBus();
      const rx = bus.client();
      await rx.subscribe(topics.linkRx('cam'));
      const order: number[] = [];
      rx.onMessage(topics.linkRx('cam'), (m) => void order.push(decodeFrame(m.payload).header.fragmentIndex));
      const link = await EmulatedLink.open({
        deviceId: 'cam',
        channel: new Channel({ snr: constantSnr(20), latency: { latencyMs: 40, jitterMs: 39 } }, seededRandom(2)),
        deliver: { kind: 'mqtt', client: bus.client() },
        mtu: 100,
        keepOrder,
      });
      await link.send(fragmentSymbols(meta(0), symbols(400), { mtu: 100, dtype: 'int8' }));
      expect(link.pending).toBe(20);
      const end = Date.now() + 3000;
      while (order.length < 20 && Date.now() < end) await tick(10);
      await link.close();
      return order;
    };
    const inOrder = [...Array(20).keys()];
    expect(await run(true)).toEqual(inOrder);
    const jittered = await run(false);
    expect([...jittered].sort((a, b) => a - b)).toEqual(inOrder);
    expect(jittered).not.toEqual(inOrder);
  });

  it('delivers what still waits out its delay when closed', async () => {
    const got: RelayedFragment[] = [];
    const link = await EmulatedLink.open({
      deviceId: 'cam',
      channel: new Channel({ snr: constantSnr(20), latency: { latencyMs: 60_000 } }, seededRandom(3)),
      deliver: { kind: 'callback', onReceive: (f) => void got.push(f) },
    });
    await link.send(fragmentSymbols(meta(0), symbols(10), { mtu: 1024, dtype: 'float16' }));
    expect(got).toHaveLength(0);
    await link.close();
    expect(got).toHaveLength(1);
  });
});
