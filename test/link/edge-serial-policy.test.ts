/**
 * The policy on a slow link, end to end: an edge pipeline (akb-k256, the real DQN through onnxruntime) sends
 * CIFAR-10 test images through a real SerialLink to a ModemSim answering as an RN2483 on a socat pty; what
 * the sim puts on air goes to RadioGatewaySim, which publishes the reassembled frames on link/rx through
 * aedes to a CloudDecoder. The link declares its rate (bytes/s of fragments at its spreading factor) and
 * the pipeline's tile budget (1000 ms) becomes the policy's ceiling: at SF7/125 kHz (620.6 B/s) 280 int8
 * uses, at SF12 (27.5 B/s) none, so every tile goes with the fewest uses (64). Airtime ÷ 200 at the sim.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { peekFrameHeader } from '@akb/protocol';
import { connectMqtt } from '@akb/protocol/mqtt';
import { decodeImage, loadModelSet, type ModelSet, type RgbImage } from '@akb/jscc';
import { EdgePipeline, type ImageReport } from '@akb/edge';
import { CloudDecoder, folderReferences, type ImageResult } from '@akb/cloud';
import { requireProgram, uniqueId } from '../support/index.js';
import { DEVICE, startRig, type Rig } from './serial-rig.js';

const models = fileURLToPath(new URL('../../models/', import.meta.url));
const samples = join(models, 'samples/cifar10-test');
const run = requireProgram('socat', 'socat');
const IMAGES = 3;

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

interface Outcome {
  reports: ImageReport[];
  results: ImageResult[];
  ceiling: number | undefined;
  dtypes: string[];
}

async function sendAt(set: ModelSet, images: { name: string; image: RgbImage }[], sf: 7 | 12, tileBudgetMs?: number): Promise<Outcome> {
  rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 200 });
  const results = new Map<string, ImageResult>();
  const cloudClient = await connectMqtt({ url: rig.broker.url, clientId: uniqueId('slow-cloud') });
  const edgeClient = await connectMqtt({ url: rig.broker.url, clientId: uniqueId('slow-edge') });
  let cloud: CloudDecoder | undefined;
  let edge: EdgePipeline | undefined;
  try {
    cloud = await CloudDecoder.start({ client: cloudClient, sets: [set], lane: 'inline', references: folderReferences(samples), onImage: (r) => void results.set(r.name ?? '', r) });
    const link = await rig.link({ modem: { kind: 'rn2483', sf, bwKhz: 125, cr: 1 }, client: edgeClient, deviceId: DEVICE });
    edge = await EdgePipeline.create({
      deviceId: DEVICE, set, link, transport: edgeClient, policy: { mode: 'dqn', epsilon: 0 }, ...(tileBudgetMs !== undefined ? { tileBudgetMs } : {}),
    });
    const reports: ImageReport[] = [];
    for (const i of images) reports.push(await edge.sendImage(i.image, i.name));
    const frames = await rig.inbox.waitFor(images.length, 30_000);
    for (let t = 0; t < 1500 && results.size < images.length; t++) await new Promise((r) => setTimeout(r, 20));
    return { reports, results: [...results.values()], ceiling: edge.policy.linkCeiling?.maxUses, dtypes: frames.map((m) => peekFrameHeader(m.payload).dtype) };
  } finally {
    await edge?.close().catch(() => undefined);
    await cloud?.stop().catch(() => undefined);
    await cloudClient.close({ force: true });
    await edgeClient.close({ force: true }).catch(() => undefined);
  }
}

describe.runIf(run)('the policy on a slow serial link (RN2483 on a pty)', () => {
  let set: ModelSet;
  let images: { name: string; image: RgbImage }[];
  beforeAll(async () => {
    set = await loadModelSet(join(models, 'zoo'), 'akb-k256');
    const files = (await readdir(samples)).filter((f) => f.endsWith('.jpg')).sort().slice(0, IMAGES);
    images = await Promise.all(files.map(async (name) => ({ name, image: await decodeImage(await readFile(join(samples, name)), name) })));
  });

  it('picks fewer channel uses at SF12 than at SF7, and the frames reach the cloud decoder as int8', async () => {
    const fewest = Math.min(...set.actions.map((a) => a.channelUses));
    const sf7 = await sendAt(set, images, 7);
    await rig?.stop();
    rig = undefined;
    const sf12 = await sendAt(set, images, 12);
    const uses = (o: Outcome): number => o.reports.reduce((s, r) => s + r.channelUses, 0);
    const psnr = (o: Outcome): string => (o.results.reduce((s, r) => s + (r.psnr ?? 0), 0) / o.results.length).toFixed(2);
    process.stdout.write(`${IMAGES} CIFAR tiles: SF7 ${uses(sf7)} uses (ceiling ${sf7.ceiling}), ${psnr(sf7)} dB; SF12 ${uses(sf12)} uses (ceiling ${sf12.ceiling}), ${psnr(sf12)} dB\n`);
    expect(sf7.ceiling).toBe(280);
    expect(sf12.ceiling).toBe(0);
    for (const r of sf7.reports) expect(r.channelUses / r.tiles).toBeLessThanOrEqual(280);
    for (const r of sf12.reports) expect(r.channelUses).toBe(fewest * r.tiles);
    expect(uses(sf12)).toBeLessThan(uses(sf7));
    for (const o of [sf7, sf12]) {
      expect(o.dtypes.every((d) => d === 'int8')).toBe(true);
      expect(o.results.map((r) => r.name).sort()).toEqual(images.map((i) => i.name));
      for (const r of o.results) {
        expect(r.complete).toBe(true);
        expect(r.psnr).toBeGreaterThan(10);
      }
    }
  }, 120_000);

  it('without a tile budget the SF12 link leaves the choice to the DQN', async () => {
    const o = await sendAt(set, images, 12, 0);
    expect(o.ceiling).toBeUndefined();
    const fewest = Math.min(...set.actions.map((a) => a.channelUses));
    expect(o.reports.some((r) => r.channelUses > fewest * r.tiles)).toBe(true);
  }, 120_000);
});
