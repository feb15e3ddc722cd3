/**
 * The cloud's receiving side through a real broker (aedes and Mosquitto): this test plays the edge and the
 * channel (the real AKB-JSCC encoder on fixture tiles, AWGN added here, RX frames and image-meta in the v1
 * link convention) and checks what the cloud makes of it: reconstructions as good as decoding the same
 * noisy latents directly, graceful loss, counted garbage, schema-valid feedback, and no frame decoded twice
 * across a broker restart. On Mosquitto the cloud receives through a shared subscription.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, topics } from '@akb/protocol';
import { RpcClient, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { loadModelSet, psnr, type ModelSet, type RgbImage } from '@akb/jscc';
import { CloudService, type DecoderStats, type ImageResult } from '@akb/cloud';
import { SetSessions, decodeDirectly, loadFixtureImages, sendImage, type FixtureImages, type SentImage } from '../../runtime-cloud/src/testing.js';
import { Inbox, describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';

describeBrokers('cloud decode', (kind) => {
  let broker: BrokerHandle;
  let set: ModelSet;
  let sessions: SetSessions;
  let fx: FixtureImages;
  let cloud: CloudService;
  let edge: AkbMqttClient;
  let tool: AkbMqttClient;
  let toCloud: RpcClient;
  const device = uniqueId('cam').replace(/[^A-Za-z0-9._-]/g, '');
  const references = new Map<string, RgbImage>();
  const results: ImageResult[] = [];
  let feedback: Inbox;

  beforeAll(async () => {
    broker = await kind.start();
    set = await loadModelSet('models/zoo', 'akb-k256');
    [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
    cloud = await CloudService.start({
      brokerUrl: broker.url,
      clientId: uniqueId('cloud'),
      sets: [set],
      kbDir: 'models/zoo/akb-kb-k256',
      references: (name) => Promise.resolve(references.get(name)),
      decoder: { shared: kind.sharedSubscriptions, workers: 2, imageTimeoutMs: 8000, metaWaitMs: 1000 },
    });
    cloud.decoder!.images.on((r) => results.push(r));
    edge = await connectMqtt({ url: broker.url, clientId: uniqueId('edge') });
    tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
    feedback = await Inbox.open(tool, topics.feedback(device), 0);
    toCloud = new RpcClient(tool, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes(uniqueId('tool')), timeoutMs: 5000 });
  });
  afterAll(async () => {
    await cloud?.stop();
    await Promise.all([edge?.close({ force: true }), tool?.close({ force: true })]);
    await sessions?.release();
    await broker?.close();
  });

  const stats = (): Promise<DecoderStats> => toCloud.request<DecoderStats>('decoder.stats');
  const resultOf = async (session: number): Promise<ImageResult> => {
    await expect.poll(() => results.find((r) => r.session === session), { timeout: 10_000 }).toBeDefined();
    return results.find((r) => r.session === session)!;
  };
  async function publish(sent: SentImage, tiles: number[] = sent.tiles.map((_, i) => i), qos: 0 | 1 = 0): Promise<void> {
    for (const i of tiles) for (const f of sent.tiles[i]!.fragments) await edge.publish(topics.linkRx(device), f, { qos });
  }
  async function sendMeta(sent: SentImage): Promise<void> {
    await edge.publish(topics.linkMeta(device), encodeMessage('image-meta', sent.meta), { qos: 1 });
  }

  it('reconstructs within 0.1 dB of a direct onnxruntime decode and sends valid feedback per tile', async () => {
    // Thrown at it: a 120x100 image (4x4 tiles, cropped edges) at 5 dB, action 10 (384 uses, 0 dB).
    const sent = await sendImage(sessions, fx, { width: 120, height: 100, session: 1, image: 0, firstFrameId: 0, name: 'a.png', snrDb: 5, actionId: 10, seed: 11 });
    references.set('a.png', sent.original);
    await sendMeta(sent);
    await publish(sent);
    const r = await resultOf(1);
    const direct = await decodeDirectly(sessions, sent, 5);
    const directPsnr = psnr(sent.original.data, direct.data);
    expect(r.counts.decoded).toBe(16);
    expect(Math.abs(r.psnr! - directPsnr)).toBeLessThan(0.1);
    const mine = (await feedback.waitFor(16, 5000)).map((m) => decodeMessage('feedback', m.payload)).filter((f) => f.session === 1);
    expect(mine).toHaveLength(16);
    expect(new Set(mine.map((f) => f.frameId)).size).toBe(16);
    expect(mine.every((f) => f.psnr !== undefined && f.reward !== undefined && !f.kbVersionMismatch && f.erasures.fragmentsLost === 0)).toBe(true);
    const meanSnr = mine.reduce((a, f) => a + f.snrDb, 0) / mine.length;
    expect(Math.abs(meanSnr - 5)).toBeLessThan(1);
  });

  it('degrades gracefully when fragments are lost: lower but finite PSNR', async () => {
    // Thrown at it: the same kind of image over a 400-byte MTU, every third fragment dropped.
    const sent = await sendImage(sessions, fx, { width: 120, height: 100, session: 2, image: 0, firstFrameId: 500, name: 'b.png', snrDb: 5, actionId: 10, seed: 12, mtu: 400 });
    references.set('b.png', sent.original);
    let n = 0;
    for (const t of sent.tiles) t.fragments.splice(0, t.fragments.length, ...t.fragments.filter(() => n++ % 3 !== 1));
    await sendMeta(sent);
    await publish(sent);
    const r = await resultOf(2);
    const whole = results.find((x) => x.session === 1)!;
    expect(r.counts.erased).toBeGreaterThan(0);
    expect(Number.isFinite(r.psnr)).toBe(true);
    expect(r.psnr!).toBeLessThan(whole.psnr!);
    expect(r.psnr!).toBeGreaterThan(10);
  });

  it('counts malformed frames and metas and keeps decoding', async () => {
    const before = await stats();
    await edge.publish(topics.linkRx(device), Buffer.from('garbage'));
    await edge.publish(topics.linkRx(device), Buffer.from([0x41, 0x4b, 1, 0, 56]));
    await edge.publish(topics.linkMeta(device), '{"v":1}', { qos: 1 });
    await edge.publish(topics.linkMeta(device), 'not json', { qos: 1 });
    const sent = await sendImage(sessions, fx, { width: 64, height: 32, session: 3, image: 0, firstFrameId: 0, snrDb: 10, actionId: 7, seed: 13 });
    await sendMeta(sent);
    await publish(sent);
    await resultOf(3);
    const after = await stats();
    expect(after.framesMalformed - before.framesMalformed).toBe(2);
    expect(after.metasMalformed - before.metasMalformed).toBe(2);
    expect(after.framesDecoded - before.framesDecoded).toBe(2);
  });

  it('decodes nothing twice across a broker restart (QoS 1 redelivery)', async () => {
    // Thrown at it: half the tiles, the broker restarted, then every tile again and the rest.
    const sent = await sendImage(sessions, fx, { width: 128, height: 64, session: 4, image: 0, firstFrameId: 1000, snrDb: 8, actionId: 7, seed: 14 });
    const before = await stats();
    await sendMeta(sent);
    await publish(sent, [0, 1, 2, 3], 1);
    await expect.poll(async () => (await stats()).framesDecoded - before.framesDecoded, { timeout: 5000 }).toBe(4);
    await broker.restart();
    await expect.poll(() => toCloud.request('ping', undefined, { timeoutMs: 1000 }).then(() => true, () => false), { timeout: 15_000, interval: 300 }).toBe(true);
    await publish(sent, [0, 1, 2, 3, 4, 5, 6, 7], 1);
    const r = await resultOf(4);
    const after = await stats();
    expect(r.counts.decoded).toBe(8);
    expect(after.framesDecoded - before.framesDecoded).toBe(8);
    expect(after.framesDuplicate + after.fragmentsDuplicate - before.framesDuplicate - before.fragmentsDuplicate).toBeGreaterThanOrEqual(4);
    // The retained KB announce is published again on the fresh broker.
    const late = await Inbox.open(tool, topics.kbAnnounce());
    expect(decodeMessage('kb-announce', (await late.waitFor(1, 5000))[0]!.payload).kbVersion).toBe(set.kb!.versionId);
  });

  it('runs as the akb-cloud CLI: decodes and feeds back', async () => {
    const bin = fileURLToPath(new URL('../../runtime-cloud/dist/main.js', import.meta.url));
    const args = ['--broker', broker.url, '--models', 'models/zoo', '--set', 'akb-k256', '--workers', '2', kind.sharedSubscriptions ? '--shared' : '--no-shared', '--group', 'cli'];
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await expect.poll(() => out, { timeout: 15_000 }).toMatch(/decoding akb-k256 with 2 worker/);
      const other = uniqueId('cli').replace(/[^A-Za-z0-9._-]/g, '');
      const inbox = await Inbox.open(tool, topics.feedback(other), 0);
      const sent = await sendImage(sessions, fx, { width: 64, height: 64, session: 5, image: 0, firstFrameId: 0, snrDb: 5, actionId: 7, seed: 15 });
      await edge.publish(topics.linkMeta(other), encodeMessage('image-meta', sent.meta), { qos: 1 });
      for (const t of sent.tiles) for (const f of t.fragments) await edge.publish(topics.linkRx(other), f);
      const got = (await inbox.waitFor(4, 10_000)).map((m) => decodeMessage('feedback', m.payload));
      expect(got.every((f) => f.kbVersion === set.kb!.versionId && f.psnr === undefined)).toBe(true);
      // One line per finished image on stdout (no reference here, so no PSNR).
      await expect.poll(() => out, { timeout: 10_000 }).toMatch(new RegExp(`image ${other} session 5 #0 64x64: tiles 4, received 4, lost 0, SNR \\d+\\.\\d\\d dB \\(complete\\)`));
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
