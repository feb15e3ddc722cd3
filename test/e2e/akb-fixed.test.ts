/**
 * The fixed-rate AKB-JSCC (issue 15) through the whole loop, on aedes and Mosquitto: edge (TileEncoder,
 * policy fixed:0, the transmitter's SNR estimate starting at the channel's 1 dB and following the cloud's
 * feedback) → broker → channel emulator (AWGN at 1 dB) → broker → one cloud decoder holding both sets,
 * akb-fixed-k1024 and its no-KB twin akb-fixed-nokb.
 *
 * Checked: every frame of akb-fixed-k1024 names the entry the reference rule picks (least pixel error over
 * priors.u8) and the KB's version, and spends the index uses of the committed table at the edge's SNR
 * estimate (18 at 1 dB; 27 to 13 as the estimate, which follows the cloud's per-frame SNR measurements,
 * scatters between -1 and 3 dB); the twin's frames name no entry
 * and carry 256 latent symbols. Quality: the Python figures at 1 dB over the 10,000 CIFAR-10 test images are
 * 22.9941 dB (akb-fixed) and 22.6887 dB (twin) (models/eval/results/issue15_stable_call2.json); the 20
 * sample images sent 3 times each are too few to reproduce a mean of 10,000 exactly (per-image PSNR spreads
 * by about 3 dB), so each mean must be within 0.5 dB of Python's. Measured over 8 runs on each broker (the
 * decoder using its own SNR estimate, as the cloud does): akb-fixed 22.80 to 23.08 dB, the twin 22.52 to
 * 22.74 dB. The KB's share (+0.31 dB in Python) is not asserted here: on 60 noisy decodes of 20 images it
 * measured +0.10 to +0.47 dB, too close to the noise of such a mean; test/e2e/akb-fixed-python.test.ts
 * checks both sets on all 10,000 test images.
 *
 * Hostile frames (thrown at the cloud: entries 1024 and 2^32 - 1 in a KB of 1024, a KB version the cloud
 * does not hold) are counted (BAD_KB_ENTRY, kbMismatch), not decoded with a wrong prior, and the loop
 * carries on: an image sent afterwards decodes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeMessage, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { ChannelEmulator, MqttLink, channelFactory } from '@akb/link';
import { EdgePipeline } from '@akb/edge';
import { decodeImage, loadModelSet, type ModelSet, type RgbImage } from '@akb/jscc';
import { CloudDecoder, folderReferences, type ImageResult } from '@akb/cloud';
import { rxFragments } from '../../runtime-cloud/src/testing.js';
import { describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';

const models = fileURLToPath(new URL('../../models/', import.meta.url));
const samples = join(models, 'samples/cifar10-test');
const SNR_DB = 1;
const PYTHON = { 'akb-fixed-k1024': 22.9941, 'akb-fixed-nokb': 22.6887 } as const;
const TOLERANCE_DB = 0.5;
const REPEATS = 3;

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describeBrokers('the fixed-rate AKB-JSCC and its twin through the loop (AWGN 1 dB)', (kind) => {
  let broker: BrokerHandle;
  let images: { name: string; image: RgbImage }[];
  let set: ModelSet;
  let twin: ModelSet;
  const clients: AkbMqttClient[] = [];
  const results = new Map<string, ImageResult>();
  let cloud: CloudDecoder;
  const connect = async (role: string): Promise<AkbMqttClient> => {
    const c = await connectMqtt({ url: broker.url, clientId: uniqueId(role) });
    clients.push(c);
    return c;
  };
  const waitFor = async (names: string[]): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (names.some((n) => !results.has(n)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  };

  /** Sends every sample `repeats` times from a device running `s`, then runs `extra` and sends one more image. */
  async function runLoop(s: ModelSet, tag: string, repeats: number, extra?: (device: string) => Promise<void>): Promise<{ device: string; results: ImageResult[] }> {
    const device = uniqueId(`fixed-${tag}`);
    let emulator: ChannelEmulator | undefined;
    let edge: EdgePipeline | undefined;
    const names: string[] = [];
    try {
      emulator = await ChannelEmulator.start({ client: await connect(`${tag}-channel`), device, keepOrder: true, channelFor: channelFactory({ snr: { kind: 'constant', snrDb: SNR_DB } }, 5) });
      const edgeClient = await connect(`${tag}-edge`);
      const link = await MqttLink.open({ client: edgeClient, deviceId: device });
      edge = await EdgePipeline.create({ deviceId: device, set: s, link, transport: edgeClient, policy: { mode: 'fixed:0', initialSnrDb: SNR_DB } });
      for (let r = 0; r < repeats; r++) {
        const batch = images.map((i) => `${tag}/r${r}/${i.name}`);
        names.push(...batch);
        await Promise.all(images.map((i, k) => edge!.sendImage(i.image, batch[k])));
        await waitFor(batch);
      }
      await extra?.(device);
      if (extra) {
        const after = `${tag}/after/${images[0]!.name}`;
        names.push(after);
        await edge.sendImage(images[0]!.image, after);
        await waitFor([after]);
      }
    } finally {
      await edge?.close().catch(() => undefined);
      await emulator?.stop().catch(() => undefined);
    }
    return { device, results: names.map((n) => results.get(n)).filter((r): r is ImageResult => r !== undefined) };
  }

  beforeAll(async () => {
    broker = await kind.start();
    [set, twin] = await Promise.all([loadModelSet(join(models, 'zoo'), 'akb-fixed-k1024'), loadModelSet(join(models, 'zoo'), 'akb-fixed-nokb')]);
    const files = (await readdir(samples)).filter((f) => f.endsWith('.jpg')).sort();
    images = await Promise.all(files.map(async (name) => ({ name, image: await decodeImage(await readFile(join(samples, name)), name) })));
    cloud = await CloudDecoder.start({ client: await connect('fixed-cloud'), sets: [set, twin], lane: 'inline', references: folderReferences(samples), onImage: (r) => void results.set(r.name ?? '', r) });
  });
  afterAll(async () => {
    await cloud?.stop().catch(() => undefined);
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
    await broker?.close();
  });

  it('akb-fixed-k1024: the reference entry and the KB version in every frame, the index uses of the table; PSNR near Python; the twin sends no entry', async () => {
    const kb = set.kb!;
    const { results: withKb } = await runLoop(set, 'kb', REPEATS);
    expect(withKb.length, 'every image decoded').toBe(images.length * REPEATS);
    // The edge's estimate follows the cloud's per-frame SNR measurements, which scatter around 1 dB.
    const allowed = [-1, 0, 1, 2, 3].map((s) => 256 - kb.indexUses(s)); // 229, 234, 238, 240, 243
    for (const r of withKb) {
      expect([r.modelSet, r.kbVersion]).toEqual(['akb-fixed-k1024', kb.versionId]);
      expect(r.tileResults).toHaveLength(1);
      const t = r.tileResults[0]!;
      const source = images.find((i) => r.name!.endsWith(`/${i.name}`))!.image;
      expect(t.status).toBe('decoded');
      expect(t.kbEntry, `${r.name}: the entry of least pixel error`).toBe(kb.nearest(source.data).entry);
      expect(t.channelUses).toBe(256);
      expect(allowed, `${r.name}: ${t.length} latent symbols`).toContain(t.length);
    }
    expect(withKb.map((r) => r.tileResults[0]!.length), 'the first images, sent at the initial 1 dB estimate: 18 index uses').toContain(238);
    const kbPsnr = mean(withKb.map((r) => r.psnr!));

    const { results: noKb } = await runLoop(twin, 'twin', REPEATS);
    expect(noKb.length).toBe(images.length * REPEATS);
    for (const r of noKb) {
      expect([r.modelSet, r.kbVersion]).toEqual(['akb-fixed-nokb', kb.versionId]);
      const t = r.tileResults[0]!;
      expect([t.status, t.kbEntry, t.length]).toEqual(['decoded', -1, 256]);
    }
    const twinPsnr = mean(noKb.map((r) => r.psnr!));
    if (process.env.AKB_VERBOSE) process.stderr.write(`${kind.name}: akb-fixed-k1024 ${kbPsnr.toFixed(3)} dB (Python ${PYTHON['akb-fixed-k1024']}), twin ${twinPsnr.toFixed(3)} dB (Python ${PYTHON['akb-fixed-nokb']})\n`);
    expect(Math.abs(kbPsnr - PYTHON['akb-fixed-k1024']), `akb-fixed ${kbPsnr.toFixed(2)} dB`).toBeLessThan(TOLERANCE_DB);
    expect(Math.abs(twinPsnr - PYTHON['akb-fixed-nokb']), `twin ${twinPsnr.toFixed(2)} dB`).toBeLessThan(TOLERANCE_DB);
  }, 240_000);

  it('counts frames naming an entry outside the KB or another KB version, decodes none with a wrong prior, and carries on', async () => {
    const kb = set.kb!;
    const before = { bad: cloud.stats.malformedByCode.BAD_KB_ENTRY ?? 0, mismatch: cloud.stats.kbMismatch };
    const hostile = async (device: string): Promise<void> => {
      const c = await connect('fixed-hostile');
      const meta = { v: 1 as const, session: 901, image: 0, name: 'hostile', width: 96, height: 32, tile: 32, tiles: 3, firstFrameId: 50, modelSet: set.name, kbVersion: kb.versionId, ts: Date.now() };
      await c.publish(topics.linkMeta(device), encodeMessage('image-meta', meta));
      const payload = new Float32Array(2 * 238).map((_, i) => Math.sin(i));
      const frames = [
        { frameId: 50, kbVersion: kb.versionId, kbEntry: 1024 },
        { frameId: 51, kbVersion: kb.versionId, kbEntry: 0xffffffff },
        { frameId: 52, kbVersion: 0xdeadbeef, kbEntry: 3 },
      ];
      for (const f of frames) {
        for (const b of rxFragments({ deviceId: 9, sessionId: 901, actionId: 0, timestampUs: 1, ...f }, payload)) await c.publish(topics.linkRx(device), b);
      }
      await waitFor(['hostile']);
    };
    const { results: after } = await runLoop(set, 'hostile', 0, hostile);
    const h = results.get('hostile');
    expect(h, 'the hostile image is finished, not hung').toBeDefined();
    expect(h!.tileResults.map((t) => t.status)).toEqual(['lost', 'lost', 'kb-mismatch']);
    expect((cloud.stats.malformedByCode.BAD_KB_ENTRY ?? 0) - before.bad).toBe(2);
    expect(cloud.stats.kbMismatch - before.mismatch).toBe(1);
    const last = after.find((r) => r.name!.includes('/after/'));
    expect(last?.tileResults[0]?.status, 'an image sent after them decodes').toBe('decoded');
    expect(last!.psnr!).toBeGreaterThan(15);
  }, 240_000);
});
