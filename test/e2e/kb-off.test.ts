/**
 * akb-k256 with its source KB withheld (sourceKb: 'off'), through the whole loop: edge (onnxruntime-node
 * encoder) → broker → channel emulator (AWGN at 1 dB) → broker → cloud decoder. Nothing at the cloud is told:
 * the frames carry no KB entry, and the cloud decodes them with the KB's global mean (entry -1).
 *
 * The Python figure for the same network without its KB (models/eval/results/jscc_grid.json: model "akb",
 * K = 1, 256 channel uses, AWGN 1 dB, CIFAR-10 test) is 21.619 dB over all 10,000 test images; the 20 sample
 * images here are too few to reproduce a mean of 10,000 within 0.1 dB (per-image PSNR spreads by about 3 dB),
 * so this test checks the mechanism: every tile without an entry and with all 256 uses latent, a mean PSNR
 * within 0.5 dB of that figure (measured: 21.70 dB on aedes, 21.79 dB on Mosquitto; the same 20 images outside
 * the loop give 21.74 dB; a wrong prior or length moves it by more), and a different reconstruction of the
 * same image with the KB on.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { ChannelEmulator, MqttLink, channelFactory } from '@akb/link';
import { EdgePipeline } from '@akb/edge';
import { decodeImage, loadModelSet, type ModelSet, type RgbImage } from '@akb/jscc';
import { CloudDecoder, folderReferences, type ImageResult } from '@akb/cloud';
import { describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';

const models = fileURLToPath(new URL('../../models/', import.meta.url));
const samples = join(models, 'samples/cifar10-test');
const PYTHON_NO_KB_1DB = 21.619;
const REPEATS = 3;

async function runLoop(url: string, set: ModelSet, sourceKb: 'on' | 'off', images: { name: string; image: RgbImage }[]): Promise<ImageResult[]> {
  const device = uniqueId(`kb-${sourceKb}`);
  const clients: AkbMqttClient[] = [];
  const results = new Map<string, ImageResult>();
  const connect = async (role: string): Promise<AkbMqttClient> => {
    const c = await connectMqtt({ url, clientId: uniqueId(role) });
    clients.push(c);
    return c;
  };
  const action = set.actions.find((a) => a.channelUses === 256 && a.powerDb === 0)!;
  let cloud: CloudDecoder | undefined;
  let emulator: ChannelEmulator | undefined;
  let edge: EdgePipeline | undefined;
  try {
    cloud = await CloudDecoder.start({ client: await connect('kb-cloud'), sets: [set], lane: 'inline', references: folderReferences(samples), onImage: (r) => void results.set(r.name ?? '', r) });
    emulator = await ChannelEmulator.start({ client: await connect('kb-channel'), device, keepOrder: true, channelFor: channelFactory({ snr: { kind: 'constant', snrDb: 1 } }, 3) });
    const edgeClient = await connect('kb-edge');
    const link = await MqttLink.open({ client: edgeClient, deviceId: device });
    // The channel estimate starts at the channel's SNR, so what the encoder is told (and, with the KB on, the
    // index length) does not depend on when the first feedback arrives.
    edge = await EdgePipeline.create({ deviceId: device, set, link, transport: edgeClient, policy: { mode: `fixed:${action.id}`, initialSnrDb: 1 }, sourceKb });
    for (let r = 0; r < REPEATS; r++) {
      const names = images.map((i) => `r${r}/${i.name}`);
      await Promise.all(images.map((i, k) => edge!.sendImage(i.image, names[k])));
      const deadline = Date.now() + 30_000;
      while (names.some((n) => !results.has(n)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    }
  } finally {
    await edge?.close().catch(() => undefined);
    await emulator?.stop().catch(() => undefined);
    await cloud?.stop().catch(() => undefined);
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
  }
  return [...results.values()];
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describeBrokers('akb-k256 with its source KB withheld, through the loop', (kind) => {
  let broker: BrokerHandle;
  let images: { name: string; image: RgbImage }[];
  let set: ModelSet;
  beforeAll(async () => {
    broker = await kind.start();
    set = await loadModelSet(join(models, 'zoo'), 'akb-k256');
    const files = (await readdir(samples)).filter((f) => f.endsWith('.jpg')).sort();
    images = await Promise.all(files.map(async (name) => ({ name, image: await decodeImage(await readFile(join(samples, name)), name) })));
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('kb off: no entry in any frame, all 256 uses latent, decoded with the global mean; kb on differs', async () => {
    const off = await runLoop(broker.url, set, 'off', images);
    expect(off.length, 'every image decoded').toBe(images.length * REPEATS);
    const tiles = off.flatMap((r) => r.tileResults);
    expect(tiles.length).toBe(images.length * REPEATS); // 32x32 images: one tile each
    for (const t of tiles) {
      expect(t.status).toBe('decoded');
      expect(t.kbEntry, 'no entry sent: the cloud used the global mean').toBe(-1);
      expect(t.length, 'every channel use carries latent').toBe(256);
      expect(t.channelUses).toBe(256);
    }
    const offPsnr = mean(off.map((r) => r.psnr!));

    const on = await runLoop(broker.url, set, 'on', images);
    expect(on.length).toBe(images.length * REPEATS);
    const onTiles = on.flatMap((r) => r.tileResults);
    const sent = onTiles.filter((t) => t.kbEntry !== undefined && t.kbEntry >= 0);
    expect(sent.length, 'with the KB on, tiles carry an entry').toBeGreaterThan(0);
    for (const t of sent) expect(t.length!, 'and spend index uses').toBeLessThan(256);
    const onPsnr = mean(on.map((r) => r.psnr!));
    if (process.env.AKB_VERBOSE) process.stderr.write(`${kind.name}: kb off ${offPsnr.toFixed(3)} dB, kb on ${onPsnr.toFixed(3)} dB (Python, no KB, 10,000 images: ${PYTHON_NO_KB_1DB} dB)\n`);
    expect(Math.abs(offPsnr - PYTHON_NO_KB_1DB), `kb off ${offPsnr.toFixed(2)} dB against the Python ${PYTHON_NO_KB_1DB} dB`).toBeLessThan(0.5);
    const first = off.find((r) => r.name === `r0/${images[0]!.name}`)!;
    const firstOn = on.find((r) => r.name === `r0/${images[0]!.name}`)!;
    const a = first.reconstruction.data;
    const b = firstOn.reconstruction.data;
    expect(a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0), 'one image, kb off against kb on').toBeGreaterThan(1e-3);
  }, 180_000);
});
