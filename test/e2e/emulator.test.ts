/**
 * The channel emulator service between a real broker's link/tx and link/rx, on aedes and Mosquitto: an
 * edge-like client publishes fragmented frames, the emulator relays them through its channel, and a
 * receiver reassembles what arrives. Frames and relays use QoS 1 here so that every loss counted is the
 * channel's, not the test network's.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { complexGaussian, encodeFrame, filters, fragmentSymbols, measureSnrDb, type ReassembledFrame, Reassembler, seededRandom, type SymbolDtype, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { ChannelEmulator, SigmfRecorder, channelFactory, type ChannelConfig, type RelayOutcome, type SigmfMeta } from '@akb/link';
import { describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';

/** Unit-power complex Gaussian symbols, as a JSCC encoder sends them. */
function unitSymbols(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const v = new Float32Array(2 * count);
  let power = 0;
  for (let s = 0; s < count; s++) {
    const z = complexGaussian(random);
    v[2 * s] = z.re;
    v[2 * s + 1] = z.im;
    power += z.re ** 2 + z.im ** 2;
  }
  const k = Math.sqrt(count / power);
  return v.map((x) => x * k);
}

async function until(what: string, test: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Rig {
  device: string;
  emulator: ChannelEmulator;
  outcomes: RelayOutcome[];
  /** Sends `frames` frames of `symbols` symbols; returns what was sent, by frame id. */
  send(frames: number, symbols: number, options?: { mtu?: number; dtype?: SymbolDtype; firstId?: number }): Promise<Map<number, Float32Array>>;
  publishRaw(bytes: Uint8Array): Promise<void>;
  /** Waits until the receiver got every relayed fragment, then delivers all frames. */
  receive(): Promise<ReassembledFrame[]>;
  rxMessages(): number;
  stop(): Promise<void>;
}

describeBrokers('channel emulator service', (kind) => {
  let broker: BrokerHandle;
  const clients: AkbMqttClient[] = [];
  const connect = async (prefix: string): Promise<AkbMqttClient> => {
    const c = await connectMqtt({ url: broker.url, clientId: uniqueId(prefix) });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await kind.start();
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
    await broker?.close();
  });

  async function rig(config: ChannelConfig, options: { seed?: number; recorder?: SigmfRecorder } = {}): Promise<Rig> {
    const device = uniqueId('cam');
    const [emu, edge, rx] = await Promise.all([connect('emu'), connect('edge'), connect('cloud')]);
    const emulator = await ChannelEmulator.start({
      client: emu, device, qos: 1, channelFor: channelFactory(config, options.seed ?? 1), recorder: options.recorder,
    });
    const outcomes: RelayOutcome[] = [];
    emulator.outcomes.on((o) => void outcomes.push(o));
    const reassembler = new Reassembler({ timeoutMs: 60_000, maxPendingFrames: 1000, maxTotalSymbols: 1 << 20 });
    const frames: ReassembledFrame[] = [];
    let rxCount = 0;
    rx.onMessage(topics.linkRx(device), (m) => {
      rxCount++;
      const done = reassembler.push(m.payload);
      if (done) frames.push(done);
    });
    await rx.subscribe(topics.linkRx(device), { qos: 1 });
    return {
      device,
      emulator,
      outcomes,
      async send(count, symbols, o = {}) {
        const sent = new Map<number, Float32Array>();
        for (let i = 0; i < count; i++) {
          const frameId = (o.firstId ?? 0) + i;
          const values = unitSymbols(symbols, 1000 + frameId);
          sent.set(frameId, values);
          const fragments = fragmentSymbols(
            { deviceId: 1, sessionId: 77, frameId, actionId: 0, kbVersion: 1, timestampUs: Date.now() * 1000 },
            values,
            { mtu: o.mtu ?? 1084, dtype: o.dtype ?? 'float32' },
          );
          for (const f of fragments) await edge.publish(topics.linkTx(device), f, { qos: 1 });
        }
        return sent;
      },
      publishRaw: (bytes) => edge.publish(topics.linkTx(device), bytes, { qos: 1 }),
      async receive() {
        await until('the relayed fragments', () => emulator.stats.published === emulator.stats.relayed && rxCount >= emulator.stats.relayed);
        return [...frames.splice(0), ...reassembler.flush()].sort((a, b) => a.header.frameId - b.header.frameId);
      },
      rxMessages: () => rxCount,
      stop: () => emulator.stop(),
    };
  }

  it('relays at the set SNR: AWGN at 8 dB measures 8 dB at the receiver', async () => {
    // Thrown at it: 12 frames of 1024 unit-power symbols, 8 fragments each, through complex AWGN at 8 dB.
    const r = await rig({ snr: { kind: 'constant', snrDb: 8 } });
    const sent = await r.send(12, 1024);
    await until('12 x 8 fragments at the emulator', () => r.emulator.stats.received === 96);
    const frames = await r.receive();
    expect(frames.map((f) => [f.header.frameId, f.complete])).toEqual([...sent.keys()].map((id) => [id, true]));
    const all = frames.map((f) => measureSnrDb(sent.get(f.header.frameId)!, f.values));
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    expect(Math.abs(mean - 8)).toBeLessThan(0.15);
    for (const snr of all) expect(Math.abs(snr - 8)).toBeLessThan(0.6);
    await r.stop();
  });

  it('block Rayleigh: each frame measures the SNR plus the gain the emulator reports for it', async () => {
    // Thrown at it: 10 frames with one h ~ CN(0,1) each at 12 dB, equalized at the receiver side.
    const r = await rig({ snr: { kind: 'constant', snrDb: 12 }, fading: { kind: 'rayleigh' } }, { seed: 4 });
    const sent = await r.send(10, 2048, { mtu: 60 + 512 * 8 }); // 4 fragments of 512 symbols
    await until('40 fragments at the emulator', () => r.emulator.stats.received === 40);
    const frames = await r.receive();
    const effective = new Map<number, number>();
    for (const o of r.outcomes) if (o.kind === 'relayed') effective.set(o.header.frameId, o.side.effectiveSnrDb);
    const spread = Math.max(...effective.values()) - Math.min(...effective.values());
    expect(spread).toBeGreaterThan(3); // the frames really faded differently
    for (const f of frames) {
      const measured = measureSnrDb(sent.get(f.header.frameId)!, f.values);
      expect(Math.abs(measured - effective.get(f.header.frameId)!)).toBeLessThan(0.5);
    }
    await r.stop();
  });

  it('drops whole fragments by Gilbert-Elliott: the receiver sees exactly those as erasures', async () => {
    // Thrown at it: 40 frames of 6 fragments through bursty loss (netem gemodel 10% 40% 90% 2%).
    const r = await rig({ snr: { kind: 'constant', snrDb: 10 }, loss: { p: 0.1, r: 0.4, lossBad: 0.9, lossGood: 0.02 } }, { seed: 9 });
    await r.send(40, 600, { mtu: 860, dtype: 'float32' });
    await until('240 fragments at the emulator', () => r.emulator.stats.received === 240);
    const frames = await r.receive();
    const lost = new Set(r.outcomes.flatMap((o) => (o.kind === 'lost' ? [`${o.header.frameId}/${o.header.fragmentIndex}`] : [])));
    const erased = new Set(frames.flatMap((f) => f.missingFragments.map((i) => `${f.header.frameId}/${i}`)));
    const arrived = new Set(frames.map((f) => f.header.frameId));
    for (let id = 0; id < 40; id++) if (!arrived.has(id)) for (let i = 0; i < 6; i++) erased.add(`${id}/${i}`);
    expect(lost.size).toBe(r.emulator.stats.lost);
    expect(lost.size).toBeGreaterThan(10);
    expect(erased).toEqual(lost);
    for (const f of frames) {
      const zeros = f.received.reduce((n, b) => n + (b ? 0 : 1), 0);
      expect(zeros).toBe(f.missingFragments.length * 100); // 100 symbols per fragment, erased as zeros
    }
    await r.stop();
  });

  it('counts malformed frames (random bytes, truncated, bad CRC, wrong version) and keeps relaying', async () => {
    const r = await rig({ snr: { kind: 'constant', snrDb: 20 } });
    const [good] = fragmentSymbols({ deviceId: 1, sessionId: 1, frameId: 500, actionId: 0, kbVersion: 1, timestampUs: 0 }, unitSymbols(8, 1), { mtu: 512, dtype: 'int8' });
    const badCrc = good!.slice();
    badCrc[good!.length - 1] = badCrc[good!.length - 1]! ^ 0x55;
    const wrongVersion = good!.slice();
    wrongVersion[2] = 2;
    const noise = Uint8Array.from({ length: 200 }, (_, i) => (i * 167 + 13) & 0xff); // first byte 0x0d: not "A"
    // Thrown at it, between two good frames: 200 random bytes, a frame cut at 30 bytes and one cut in its
    // payload, a frame with a corrupted CRC, a version-2 frame, and an empty message.
    await r.send(1, 64, { firstId: 0 });
    await r.publishRaw(noise);
    await r.publishRaw(good!.subarray(0, 30));
    await r.publishRaw(good!.subarray(0, good!.length - 3));
    await r.publishRaw(badCrc);
    await r.publishRaw(wrongVersion);
    await r.publishRaw(new Uint8Array(0));
    await r.send(1, 64, { firstId: 1 });
    await until('8 messages at the emulator', () => r.emulator.stats.received === 8);
    const frames = await r.receive();
    expect(frames.map((f) => [f.header.frameId, f.complete])).toEqual([[0, true], [1, true]]);
    expect(r.emulator.stats).toMatchObject({
      received: 8, relayed: 2, malformed: 6,
      malformedByCode: { BAD_MAGIC: 1, TRUNCATED: 3, CRC_MISMATCH: 1, UNSUPPORTED_VERSION: 1 },
    });
    await r.stop();
  });

  it('records every received fragment as SigMF whose samples are the symbols the receiver got', async () => {
    // Thrown at it: 8 frames of 3 fragments, 20% of fragments lost, recorded to a SigMF pair.
    const dir = mkdtempSync(join(tmpdir(), 'akb-e2e-sigmf-'));
    const recorder = SigmfRecorder.open({ path: join(dir, 'capture'), sampleRateHz: 250_000, description: 'e2e' });
    const r = await rig({ snr: { kind: 'constant', snrDb: 6 }, loss: { p: 0.2, r: 0.5, lossBad: 0.7, lossGood: 0.05 } }, { recorder, seed: 3 });
    await r.send(8, 300, { mtu: 1084 });
    await until('24 fragments at the emulator', () => r.emulator.stats.received === 24);
    const frames = await r.receive();
    await r.stop(); // closes the recording
    const receivedSymbols = frames.reduce((n, f) => n + f.received.reduce((s, b) => s + b, 0), 0);
    const meta = JSON.parse(readFileSync(join(dir, 'capture.sigmf-meta'), 'utf8')) as SigmfMeta;
    const data = readFileSync(join(dir, 'capture.sigmf-data'));
    expect(Object.keys(meta)).toEqual(['global', 'captures', 'annotations']);
    expect(meta.global).toMatchObject({ 'core:datatype': 'cf32_le', 'core:version': '1.0.0', 'core:sample_rate': 250_000 });
    expect(meta.annotations).toHaveLength(r.emulator.stats.relayed);
    let next = 0;
    for (const a of meta.annotations) {
      expect(a['core:sample_start']).toBe(next); // sorted and contiguous
      next += Number(a['core:sample_count']);
      const comment = JSON.parse(String(a['core:comment'])) as { frameId: number; fragmentIndex: number; snrDb: number };
      expect(comment).toMatchObject({ snrDb: 6 });
      expect(String(a['core:label'])).toContain(`frame ${comment.frameId} fragment ${comment.fragmentIndex}/3`);
    }
    expect(next).toBe(receivedSymbols);
    expect(data.length).toBe(8 * receivedSymbols);
    // The recorded samples are the ones published: the first annotation's equal what the receiver got.
    const first = JSON.parse(String(meta.annotations[0]!['core:comment'])) as { frameId: number; symbolOffset: number };
    const frame = frames.find((f) => f.header.frameId === first.frameId)!;
    expect(data.readFloatLE(0)).toBe(frame.values[2 * first.symbolOffset]);
  });

  it('serves every device when given none, each on its own link/rx', async () => {
    // Thrown at it: two devices publishing at once to an emulator subscribed to akb/v1/dev/+/link/tx.
    const [emu, edge, rx] = await Promise.all([connect('emu'), connect('edge'), connect('cloud')]);
    const devices = [uniqueId('pi'), uniqueId('jetson')];
    const emulator = await ChannelEmulator.start({ client: emu, qos: 1, channelFor: channelFactory({ snr: { kind: 'constant', snrDb: 10 } }, 2) });
    const got: string[] = [];
    rx.onMessage(filters.allLinkRx, (m) => void got.push(m.topic));
    await rx.subscribe(filters.allLinkRx, { qos: 1 });
    const frame = (id: number): Uint8Array =>
      encodeFrame(
        { dtype: 'float32', hasKbEntry: false, endOfSession: false, actionId: 0, deviceId: id, sessionId: 1, frameId: 1, fragmentIndex: 0, fragmentCount: 1, kbVersion: 1, kbEntry: 0, totalSymbols: 1, symbolOffset: 0, scale: 1, timestampUs: 0 },
        new Uint8Array(8),
      );
    await Promise.all(devices.map((d, i) => edge.publish(topics.linkTx(d), frame(i), { qos: 1 })));
    await until('both relays', () => got.filter((t) => devices.some((d) => t === topics.linkRx(d))).length === 2);
    expect(emulator.stats.devices).toBeGreaterThanOrEqual(2);
    await emulator.stop();
  });
});
