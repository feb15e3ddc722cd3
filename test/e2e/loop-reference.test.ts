/**
 * The TypeScript loop at a fixed SNR reproduces the Python evaluation of the same model within 0.1 dB.
 *
 * Edge (JPEG decode with jpeg-js, tiles, onnxruntime-node encoder, protocol frames) → broker → channel
 * emulator (AWGN at a constant SNR) → broker → cloud decoder (reassembly, decoder, PSNR against the
 * original) on both brokers, against models/fixtures/loop_reference.json: the same 20 CIFAR-10 test images
 * through the same ONNX models in Python (PIL decode, numpy noise, 256 draws per image), made by
 * `python3 -m models.eval.loop_reference`. The loop sends every image REPEATS times (fresh noise each
 * time), so its mean's own noise is a few hundredths of a dB.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { ChannelEmulator, MqttLink, channelFactory } from '@akb/link';
import { EdgePipeline } from '@akb/edge';
import { decodeImage, loadModelSet, type RgbImage } from '@akb/jscc';
import { CloudDecoder, folderReferences, type ImageResult } from '@akb/cloud';
import { describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';

const models = fileURLToPath(new URL('../../models/', import.meta.url));
const samples = join(models, 'samples/cifar10-test');
const REPEATS = 8;

interface Reference {
  images: string[];
  points: { set: string; snr_db: number; mean_psnr: number; psnr: Record<string, number> }[];
}

async function loopMeanPsnr(url: string, set: string, snrDb: number, images: { name: string; image: RgbImage }[]): Promise<{ mean: number; results: number }> {
  const device = uniqueId('ref-edge');
  const modelSet = await loadModelSet(join(models, 'zoo'), set);
  const clients: AkbMqttClient[] = [];
  const results = new Map<string, ImageResult>();
  const connect = async (role: string): Promise<AkbMqttClient> => {
    const c = await connectMqtt({ url, clientId: uniqueId(role) });
    clients.push(c);
    return c;
  };
  let cloud: CloudDecoder | undefined;
  let emulator: ChannelEmulator | undefined;
  let edge: EdgePipeline | undefined;
  try {
    cloud = await CloudDecoder.start({ client: await connect('ref-cloud'), sets: [modelSet], lane: 'inline', references: folderReferences(samples), onImage: (r) => void results.set(r.name ?? '', r) });
    emulator = await ChannelEmulator.start({ client: await connect('ref-channel'), device, keepOrder: true, channelFor: channelFactory({ snr: { kind: 'constant', snrDb } }, 7) });
    const edgeClient = await connect('ref-edge');
    edge = await EdgePipeline.create({ deviceId: device, set: modelSet, link: await MqttLink.open({ client: edgeClient, deviceId: device }), transport: edgeClient, policy: { mode: 'fixed:0' } });
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
  const psnrs = [...results.values()].map((r) => r.psnr).filter((p): p is number => p !== undefined);
  return { mean: psnrs.reduce((a, b) => a + b, 0) / psnrs.length, results: psnrs.length };
}

describeBrokers('the loop at a fixed SNR against the Python evaluation', (kind) => {
  let broker: BrokerHandle;
  let reference: Reference;
  let images: { name: string; image: RgbImage }[];
  beforeAll(async () => {
    broker = await kind.start();
    reference = JSON.parse(await readFile(join(models, 'fixtures/loop_reference.json'), 'utf8')) as Reference;
    const files = (await readdir(samples)).filter((f) => f.endsWith('.jpg')).sort();
    expect(files).toEqual(reference.images);
    images = await Promise.all(files.map(async (name) => ({ name, image: await decodeImage(await readFile(join(samples, name)), name) })));
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('Deep JSCC 1/12 at 1, 7 and 13 dB: mean PSNR within 0.1 dB of Python', async () => {
    for (const point of reference.points) {
      const { mean, results } = await loopMeanPsnr(broker.url, point.set, point.snr_db, images);
      if (process.env.AKB_VERBOSE) process.stderr.write(`${kind.name} ${point.set} at ${point.snr_db} dB: loop ${mean.toFixed(4)} dB, Python ${point.mean_psnr} dB\n`);
      expect(results, `${point.set}: every image decoded with a PSNR`).toBe(images.length * REPEATS);
      expect(Math.abs(mean - point.mean_psnr), `${point.set} at ${point.snr_db} dB: loop ${mean.toFixed(3)} dB, Python ${point.mean_psnr} dB`).toBeLessThanOrEqual(0.1);
    }
  }, 180_000);
});
