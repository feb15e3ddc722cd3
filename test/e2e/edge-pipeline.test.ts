/**
 * The edge's JSCC pipeline on the embedded broker, seen from the cloud's side of the wire: image-meta
 * before each image's frames on link/meta, one frame per 32x32 tile on link/tx whose header names the
 * device, session, action, KB version and entry, and symbol counts that follow the actions. Feedback
 * published by hand reaches the channel KB. Then the daemon's wiring: the agent with the pipeline
 * attached answers intent.set, image.send and pipeline.stats, and publishes telemetry.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { Reassembler, decodeFrame, decodeMessage, encodeMessage, numericDeviceId, topics, type FeedbackMessage, type ImageMetaMessage } from '@akb/protocol';
import { RpcClient, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { EdgeAgent, EdgePipeline, modelVersions, startEdgeRuntime, type ImageReport } from '@akb/edge';
import { MqttLink } from '@akb/link';
import { loadModelSet, type ModelSet } from '@akb/jscc';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';

const zoo = fileURLToPath(new URL('../../models/zoo', import.meta.url));
const fixture = readFileSync(new URL('../../models/fixtures/images.f32', import.meta.url));
const cifar = new Float32Array(fixture.buffer.slice(fixture.byteOffset, fixture.byteOffset + fixture.byteLength));
const cifarImage = (i: number) => ({ width: 32, height: 32, data: cifar.slice(i * 3072, (i + 1) * 3072) });

/** A 70x45 image cut from four CIFAR images side by side (so its tiles have texture). */
function wideImage() {
  const w = 70, h = 45, n = w * h;
  const data = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const img = (x >> 5) + 3 * (y >> 5);
    data[c * n + y * w + x] = cifar[(img % 16) * 3072 + c * 1024 + (y & 31) * 32 + (x & 31)]!;
  }
  return { width: w, height: h, data };
}

/** A grayscale (colour type 0) PNG of 40x33: the luminance of CIFAR image 5. */
function greyPng(): Buffer {
  const png = new PNG({ width: 40, height: 33, colorType: 0, inputColorType: 0, inputHasAlpha: false } as never);
  const grey = Buffer.alloc(40 * 33);
  for (let y = 0; y < 33; y++) for (let x = 0; x < 40; x++) grey[y * 40 + x] = Math.round(255 * cifar[5 * 3072 + (y & 31) * 32 + (x & 31)]!);
  return PNG.sync.write(Object.assign(png, { data: grey }), { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

const feedback = (session: number, frameId: number, snrDb: number, psnr?: number): FeedbackMessage => ({
  v: 1, session, frameId, ts: Date.now(), snrDb, ...(psnr === undefined ? {} : { psnr }),
  erasures: { fragmentsExpected: 1, fragmentsLost: 0 }, kbVersion: 0, kbVersionMismatch: false,
});

async function until(test: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let broker: AedesHandle;
let set: ModelSet;
const clients: AkbMqttClient[] = [];
const connect = async (prefix: string): Promise<AkbMqttClient> => {
  const c = await connectMqtt({ url: broker.url, clientId: uniqueId(prefix) });
  clients.push(c);
  return c;
};
beforeAll(async () => {
  broker = await startAedes();
  set = await loadModelSet(zoo, 'akb-k256');
});
afterAll(async () => {
  for (const c of clients) await c.close({ force: true });
  await broker?.close();
});

describe('edge pipeline over MQTT', () => {
  it('publishes image-meta, then one frame per tile whose symbols follow the actions; feedback reaches the channel KB', async () => {
    const device = 'cam-e2e';
    const edge = await connect('edge');
    const cloud = await connect('cloud');
    const inbox = await Inbox.open(cloud, `akb/v1/dev/${device}/link/#`, 1);
    const link = await MqttLink.open({ client: edge, deviceId: device, mtu: 600 });
    const pipeline = await EdgePipeline.create({ deviceId: device, set, link, transport: edge, sessionId: 0xabcdef01, policy: { mode: 'channel-kb', epsilon: 0.3, seed: 4 } });
    const reports: ImageReport[] = [];
    reports.push(await pipeline.sendImage(cifarImage(0), 'cifar-0.png'));
    reports.push(await pipeline.sendImage(cifarImage(7), 'cifar-7.png'));
    reports.push(await pipeline.sendImage(wideImage(), 'wide.png'));
    reports.push(await pipeline.sendBytes(greyPng(), 'grey.png'));
    expect(reports.map((r) => r.tiles)).toEqual([1, 1, 6, 4]);
    const fragments = reports.reduce((s, r) => s + r.fragments, 0);
    const messages = await inbox.waitFor(4 + fragments);

    const metas: ImageMetaMessage[] = [];
    const received = new Reassembler({ timeoutMs: 60_000, maxPendingFrames: 64, maxTotalSymbols: 1 << 20 });
    const frames = [];
    for (const m of messages) {
      if (m.topic === topics.linkMeta(device)) {
        metas.push(decodeMessage('image-meta', m.payload));
        continue;
      }
      expect(m.topic).toBe(topics.linkTx(device));
      const { header } = decodeFrame(m.payload);
      // image-meta comes before every frame of its image.
      const meta = metas.find((x) => header.frameId >= x.firstFrameId && header.frameId < x.firstFrameId + x.tiles);
      expect(meta, `meta before frame ${header.frameId}`).toBeDefined();
      expect(header).toMatchObject({ deviceId: numericDeviceId(device), sessionId: 0xabcdef01, kbVersion: set.kb!.versionId, dtype: 'float32' });
      const frame = received.push(m.payload);
      if (frame) frames.push(frame);
    }
    expect(metas.map((m) => [m.name, m.width, m.height, m.tiles, m.firstFrameId])).toEqual([
      ['cifar-0.png', 32, 32, 1, 0], ['cifar-7.png', 32, 32, 1, 1], ['wide.png', 70, 45, 6, 2], ['grey.png', 40, 33, 4, 8],
    ]);
    expect(metas.every((m) => m.modelSet === 'akb-k256' && m.tile === 32 && m.session === 0xabcdef01)).toBe(true);
    expect(frames.map((f) => f.header.frameId).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    // Symbols follow the action: its channel uses, less the index uses when the entry rides in the header.
    const snr = reports[0]!.snrEstimateDb;
    let latent = 0;
    for (const f of frames) {
      expect(f.complete).toBe(true);
      const action = set.actions.find((a) => a.id === f.header.actionId)!;
      const uses = set.kb!.indexUses(snr + action.powerDb);
      const withIndex = uses >= 0 && uses <= action.channelUses / 2;
      expect(f.header.hasKbEntry).toBe(withIndex);
      expect(f.header.totalSymbols).toBe(action.channelUses - (withIndex ? uses : 0));
      const power = f.values.reduce((s, v) => s + v * v, 0);
      expect(power / (f.header.totalSymbols * 10 ** (action.powerDb / 10))).toBeCloseTo(1, 1);
      latent += f.header.totalSymbols;
    }
    expect(latent).toBe(reports.reduce((s, r) => s + r.latentSymbols, 0));
    const byAction = new Map<number, number>();
    for (const f of frames) byAction.set(f.header.actionId, (byAction.get(f.header.actionId) ?? 0) + 1);
    const reported = new Map<number, number>();
    for (const r of reports) for (const [id, n] of Object.entries(r.actions)) reported.set(Number(id), (reported.get(Number(id)) ?? 0) + n);
    expect(byAction).toEqual(reported);

    // Feedback by hand: the receiver saw frame 2 decode 8 dB worse than the channel KB expects.
    const frame2 = frames.find((f) => f.header.frameId === 2)!.header;
    const action = set.actions.findIndex((a) => a.id === frame2.actionId);
    const snrBin = Math.round(snr) + 6;
    const before = pipeline.policy.correction!.cell(snrBin, 0, action);
    const cbins = [0, 1, 2, 3].filter((c) => pipeline.policy.expectedPsnr(snrBin, c, action) !== undefined);
    const expectedAt = (c: number): number => pipeline.policy.expectedPsnr(snrBin, c, action)!;
    const measured = snr + set.actions[action]!.powerDb;
    await cloud.publish(topics.feedback(device), encodeMessage('feedback', feedback(0xabcdef01, 2, measured, 3)));
    await cloud.publish(topics.feedback(device), encodeMessage('feedback', feedback(0x1234, 3, measured, 30))); // another session: ignored
    await until(() => pipeline.counters.feedbackReceived === 2, 'feedback');
    expect(pipeline.counters.feedbackIgnored).toBe(1);
    const learned = cbins.map((c) => pipeline.policy.correction!.cell(snrBin, c, action)).find((cell) => cell.count === 1);
    expect(learned, 'one cell of the channel KB learned').toBeDefined();
    expect(before.count).toBe(0);
    const cbin = cbins.find((c) => pipeline.policy.correction!.cell(snrBin, c, action).count === 1)!;
    expect(learned!.value).toBeCloseTo(3 - expectedAt(cbin), 6);
    expect(pipeline.lastFeedback).toMatchObject({ frameId: 2, psnr: 3, actionId: frame2.actionId });
    await pipeline.close();
    inbox.close();
  });

  it('the daemon wiring: intent.set, image.send and pipeline.stats on cmd/req; telemetry; frames on link/rx', async () => {
    const device = 'cam-agent';
    const tool = await connect('tool');
    const rx = await Inbox.open(tool, topics.linkRx(device), 1);
    const telemetry = await Inbox.open(tool, topics.telemetry(device), 1);
    const agent = await EdgeAgent.start({
      brokerUrl: broker.url, deviceId: device, profile: 'generic-x64', models: modelVersions(set), kb: set.kb!.versionId, capabilities: ['jscc'],
      attach: async (client) => (await startEdgeRuntime(client, { deviceId: device, profile: 'generic-x64', set, link: 'emulated', channelSnrDb: 12, telemetryMs: 100, source: { kind: 'ingest' } })).attachment,
    });
    const rpc = new RpcClient(tool, { requestTopic: topics.cmdReq(device), replyTopic: topics.cloudRes(uniqueId('probe')), timeoutMs: 10_000 });
    expect(await rpc.request('intent.set', { v: 1, reward: { costUse: 3 } })).toMatchObject({ applied: true, weights: { costUse: 3, costPower: 1 } });
    const intent = { v: 1, id: 'budget', ts: Date.now(), target: { scope: 'device', device }, quality: { metric: 'psnr', min: 15 }, bandwidth: { maxSymbolsPerFrame: 128 } };
    expect(await rpc.request('intent.set', intent)).toMatchObject({ applied: true, constraints: { maxUses: 128 } });
    const png = new PNG({ width: 64, height: 32 });
    png.data.fill(128);
    const sent = await rpc.request<{ tiles: number; actions: Record<string, number> }>('image.send', { name: 'ingest.png', data: PNG.sync.write(png).toString('base64') });
    expect(sent.tiles).toBe(2);
    for (const id of Object.keys(sent.actions)) expect(set.actions.find((a) => a.id === Number(id))!.channelUses).toBeLessThanOrEqual(128);
    await expect(rpc.request('image.send', { data: 'bm90IGFuIGltYWdl' })).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    await expect(rpc.request('intent.set', { v: 1, reward: { costUse: 'high' } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const stats = await rpc.request<{ counters: { images: number }; source: { corrupt: number } }>('pipeline.stats');
    expect(stats).toMatchObject({ counters: { images: 1 }, source: { kind: 'ingest', sent: 1, corrupt: 1 } });
    expect(await rpc.request('status.get')).toMatchObject({ device, set: 'akb-k256', models: modelVersions(set) });
    await rx.waitFor(2); // the emulated channel's output of both tiles
    const [sample] = await telemetry.waitFor(1);
    expect(decodeMessage('telemetry', sample!.payload)).toMatchObject({ device, kbVersion: set.kb!.versionId });
    await rpc.stop();
    await agent.stop();
    rx.close();
    telemetry.close();
  });
});
