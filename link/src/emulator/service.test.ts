import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reassembler, filters, fragmentSymbols, topics, type FrameMeta } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { channelFactory } from '../channel/index.js';
import { MemoryBus } from '@akb/protocol/mqtt';
import { ChannelEmulator } from './service.js';
import { SigmfRecorder, type SigmfMeta } from './sigmf.js';

const meta = (frameId: number): FrameMeta => ({ deviceId: 1, sessionId: 9, frameId, actionId: 0, kbVersion: 1, timestampUs: 0 });
const values = (n: number): Float32Array => Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 ? 0.6 : -0.8));
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

async function until(test: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await tick();
  }
}

describe('ChannelEmulator on an in-memory bus', () => {
  it('relays every device by default, to each one\'s own link/rx, with its own channel', async () => {
    const bus = new MemoryBus();
    const made: string[] = [];
    const factory = channelFactory({ snr: { kind: 'constant', snrDb: 30 } }, 5);
    const emulator = await ChannelEmulator.start({ client: bus.client(), channelFor: (d) => (made.push(d), factory(d)) });
    const rx = bus.client();
    await rx.subscribe(filters.allLinkRx);
    const got: string[] = [];
    rx.onMessage(filters.allLinkRx, (m) => void got.push(m.topic));
    const edge = bus.client();
    for (const device of ['a', 'b']) {
      for (const f of fragmentSymbols(meta(0), values(10), { mtu: 70, dtype: 'int8' })) await edge.publish(topics.linkTx(device), f);
    }
    await until(() => got.length === 4);
    expect(got.sort()).toEqual([topics.linkRx('a'), topics.linkRx('a'), topics.linkRx('b'), topics.linkRx('b')]);
    expect(made).toEqual(['a', 'b']);
    expect(emulator.stats).toMatchObject({ received: 4, relayed: 4, published: 4, devices: 2, symbolsIn: 20, symbolsOut: 20 });
    await emulator.stop();
  });

  it('counts malformed messages by code and keeps relaying, and counts failed publishes', async () => {
    // Thrown at it: random bytes, a truncated frame, a frame with a flipped payload byte, then a good one.
    const bus = new MemoryBus();
    const client = bus.client();
    const emulator = await ChannelEmulator.start({ client, device: 'cam', channelFor: channelFactory({ snr: { kind: 'constant', snrDb: 10 } }, 1) });
    const errors: Error[] = [];
    emulator.errors.on((e) => void errors.push(e));
    const edge = bus.client();
    const [good] = fragmentSymbols(meta(1), values(4), { mtu: 200, dtype: 'float32' });
    const flipped = good!.slice();
    flipped[70] = flipped[70]! ^ 1;
    await edge.publish(topics.linkTx('cam'), Buffer.from('not a frame at all'));
    await edge.publish(topics.linkTx('cam'), good!.subarray(0, 30));
    await edge.publish(topics.linkTx('cam'), flipped);
    await edge.publish(topics.linkTx('other'), good!); // not this emulator's device
    await edge.publish(topics.linkTx('cam'), good!);
    await until(() => emulator.stats.published === 1);
    expect(emulator.stats).toMatchObject({ received: 4, malformed: 3, relayed: 1, malformedByCode: { BAD_MAGIC: 1, TRUNCATED: 1, CRC_MISMATCH: 1 } });
    client.failPublishes = new Error('broker gone');
    await edge.publish(topics.linkTx('cam'), fragmentSymbols(meta(2), values(4), { mtu: 200, dtype: 'float32' })[0]!);
    await until(() => emulator.stats.publishFailures === 1);
    expect(errors.map((e) => e.message)).toEqual(['broker gone']);
    expect(emulator.summary()).toMatch(/^5 fragments in, 2 relayed, 0 lost \(0\.0%\), 3 malformed \(BAD_MAGIC 1, TRUNCATED 1, CRC_MISMATCH 1\), 1 device, 1 publish failures$/);
    await emulator.stop();
  });

  it('drops fragments by loss so the receiver sees exactly those as erasures, and records what it relays', async () => {
    // Thrown at it: 30 frames of 4 fragments through bursty loss of about 20% of fragments.
    const bus = new MemoryBus();
    const dir = mkdtempSync(join(tmpdir(), 'akb-emu-'));
    const recorder = SigmfRecorder.open({ path: join(dir, 'rec'), sampleRateHz: 1000 });
    const emulator = await ChannelEmulator.start({
      client: bus.client(),
      device: 'cam',
      recorder,
      channelFor: channelFactory({ snr: { kind: 'constant', snrDb: 10 }, loss: { p: 0.1, r: 0.4, lossBad: 0.9, lossGood: 0.02 } }, 3),
    });
    const lost = new Set<string>();
    emulator.outcomes.on((o) => (o.kind === 'lost' ? void lost.add(`${o.header.frameId}/${o.header.fragmentIndex}`) : undefined));
    const rx = bus.client();
    await rx.subscribe(topics.linkRx('cam'));
    const reassembler = new Reassembler({ timeoutMs: 60_000, maxPendingFrames: 100, maxTotalSymbols: 1 << 16 });
    rx.onMessage(topics.linkRx('cam'), (m) => void reassembler.push(m.payload));
    const edge = bus.client();
    for (let f = 0; f < 30; f++) {
      for (const frag of fragmentSymbols(meta(f), values(40), { mtu: 60 + 80, dtype: 'float32' })) await edge.publish(topics.linkTx('cam'), frag);
    }
    await until(() => emulator.stats.received === 120 && emulator.stats.published === emulator.stats.relayed);
    await tick();
    const frames = reassembler.flush();
    const erased = new Set(frames.flatMap((fr) => fr.missingFragments.map((i) => `${fr.header.frameId}/${i}`)));
    // Frames of which nothing arrived never reach the reassembler; their fragments are all lost.
    const seen = new Set(frames.map((fr) => fr.header.frameId));
    for (const key of lost) if (!seen.has(Number(key.split('/')[0]))) erased.add(key);
    expect(lost.size).toBeGreaterThan(5);
    expect(erased).toEqual(lost);
    await emulator.stop();
    const metaDoc = JSON.parse(readFileSync(join(dir, 'rec.sigmf-meta'), 'utf8')) as SigmfMeta;
    expect(metaDoc.annotations).toHaveLength(emulator.stats.relayed);
    expect(readFileSync(join(dir, 'rec.sigmf-data')).length).toBe(8 * emulator.stats.symbolsOut);
  });
});
