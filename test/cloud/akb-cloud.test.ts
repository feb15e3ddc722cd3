/**
 * `akb-cloud` run as users run it (the built program in a child process, on the embedded broker), under
 * hostile input and at shutdown: bounded image metas (limits.ts), SIGTERM mid-decode with the broker gone,
 * a second signal, the per-image output lines, and --devices.
 *
 * This test plays edges and the channel: the real encoder on fixture tiles or a Kodak photograph (768 x
 * 512, 384 tiles), AWGN, RX frames and image-meta in the v1 link convention (runtime-cloud/src/testing.ts).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, topics, type ImageMetaMessage } from '@akb/protocol';
import { RpcClient, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { decodeImage, loadModelSet, type ModelSet, type RgbImage } from '@akb/jscc';
import type { DecoderStats } from '@akb/cloud';
import { SetSessions, loadFixtureImages, sendImage, type FixtureImages, type SentImage } from '../../runtime-cloud/src/testing.js';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { SilentableProxy, spawnCloud, type CloudProcess } from './support.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 2 ** 20;

/** A schema-valid meta of ~200 bytes announcing width x height pixels in 32-pixel tiles. */
function hostileMeta(width: number, height: number, image: number): string {
  const meta: ImageMetaMessage = {
    v: 1, session: 9, image, width, height, tile: 32, tiles: Math.ceil(width / 32) * Math.ceil(height / 32), firstFrameId: 0,
    modelSet: 'akb-k256', kbVersion: 1, ts: Date.now(),
  };
  return encodeMessage('image-meta', meta);
}

describe('akb-cloud, the program, under hostile input and at shutdown', () => {
  let broker: AedesHandle;
  let set: ModelSet;
  let sessions: SetSessions;
  let fx: FixtureImages;
  let edge: AkbMqttClient;
  let tool: AkbMqttClient;
  let kodak: SentImage;
  const running: CloudProcess[] = [];

  beforeAll(async () => {
    broker = await startAedes();
    set = await loadModelSet('models/zoo', 'akb-k256');
    [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
    edge = await connectMqtt({ url: broker.url, clientId: uniqueId('edge') });
    tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
    const original: RgbImage = await decodeImage(await readFile('models/samples/kodak/kodim23.png'), 'kodim23.png');
    kodak = await sendImage(sessions, fx, { width: 768, height: 512, original, session: 23, image: 0, firstFrameId: 0, name: 'kodim23.png', snrDb: 8, actionId: 10, seed: 23 });
  }, 120_000);
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.kill()));
  });
  afterAll(async () => {
    await Promise.all([edge?.close({ force: true }), tool?.close({ force: true })]);
    await sessions?.release();
    await broker?.close();
  });

  function cloud(args: string[]): CloudProcess {
    const c = spawnCloud(['--models', 'models/zoo', '--set', 'akb-k256', '--client-id', uniqueId('cloud'), ...args]);
    running.push(c);
    return c;
  }

  /** A requester on cloud/req (what devices may ask: ping, kb.entries), as `from`. */
  function rpc(from: string): RpcClient {
    return new RpcClient(tool, { requestTopic: topics.cloudReq(), replyTopic: topics.cloudRes(from), timeoutMs: 2000 });
  }

  /** A tool on cloud/ops/req (every operation), as `from`. */
  function ops(from: string): RpcClient {
    return new RpcClient(tool, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes(from), timeoutMs: 2000 });
  }

  async function send(device: string, sent: SentImage, meta: Partial<ImageMetaMessage> = {}): Promise<void> {
    await edge.publish(topics.linkMeta(device), encodeMessage('image-meta', { ...sent.meta, ...meta }), { qos: 1 });
    for (const t of sent.tiles) for (const f of t.fragments) await edge.publish(topics.linkRx(device), f);
  }

  it('keeps answering ping, stays within its memory and still decodes others under a hostile meta and a flood of metas', async () => {
    // Thrown at it, all from device "evil": one image-meta of 32768 x 32768 pixels (2^20 tiles; it used
    // to reserve 12.9 GB and, once timed out, start 2^20 decodes with an O(tiles²) scan), one of 65535 x 32,
    // then a flood of 300 metas of 4096 x 4096 (within the size limits, each 200 MB of budget), then
    // frames of a real image from two other devices.
    const c = cloud(['--broker', broker.url, '--workers', '1']);
    await c.saw(/akb-cloud: watching/, 60_000);
    const toCloud = ops(uniqueId('t'));
    const feedback = await Promise.all(['cam-ok', 'cam-ok2'].map((d) => Inbox.open(tool, topics.feedback(d), 0)));
    const small = await sendImage(sessions, fx, { width: 64, height: 64, session: 1, image: 0, firstFrameId: 0, snrDb: 8, actionId: 7, seed: 1 });
    await send('cam-ok', small);
    await feedback[0]!.waitFor(4, 20_000);
    const baseline = c.rssBytes();

    await edge.publish(topics.linkMeta('evil'), hostileMeta(32768, 32768, 0), { qos: 1 });
    await edge.publish(topics.linkMeta('evil'), hostileMeta(65535, 32, 1), { qos: 1 });
    for (let i = 2; i < 302; i++) await edge.publish(topics.linkMeta('evil'), hostileMeta(4096, 4096, i), { qos: 1 });
    // Past the image timeout (3 s), when the hostile image used to be finished.
    const latencies: number[] = [];
    for (const end = Date.now() + 6000; Date.now() < end; await sleep(250)) {
      const t0 = Date.now();
      await toCloud.request('ping');
      latencies.push(Date.now() - t0);
    }
    expect(latencies.length).toBeGreaterThan(10);

    await send('cam-ok2', { ...small, meta: { ...small.meta, session: 2 } });
    await feedback[1]!.waitFor(4, 20_000);
    const stats = await toCloud.request<DecoderStats>('decoder.stats');
    expect(stats.metasRefusedByReason).toEqual({ IMAGE_TOO_LARGE: 2 });
    expect(stats.imagesEvicted).toBeGreaterThanOrEqual(299);
    expect(stats.openImageBytes!).toBeLessThanOrEqual(256 * MB);
    // One warn line for evil's refusals (at most one per device every 10 s), the count in the stats.
    const warnings = c.output().split('\n').filter((l) => l.includes('"code":"META_REFUSED"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('image-meta of evil refused (IMAGE_TOO_LARGE): 32768x32768 pixels, 1048576 tiles');
    const rss = c.rssBytes();
    if (baseline !== undefined && rss !== undefined) expect(rss - baseline).toBeLessThan(400 * MB);
    await toCloud.stop();
  }, 120_000);

  /** Starts a cloud behind a proxy and gives it ~1500 tiles to decode: the Kodak image from 4 devices. */
  async function busyCloud(extra: string[]): Promise<{ c: CloudProcess; proxy: SilentableProxy }> {
    const proxy = await SilentableProxy.start(broker.port);
    const c = cloud(['--broker', proxy.url, '--workers', '2', ...extra]);
    await c.saw(/akb-cloud: watching/, 60_000);
    const devices = ['k1', 'k2', 'k3', 'k4'];
    const feedback = await Promise.all(devices.map((d) => Inbox.open(tool, topics.feedback(d), 0)));
    await edge.publish(topics.linkMeta('evil'), hostileMeta(32768, 32768, 0), { qos: 1 });
    for (const d of devices) await send(d, kodak);
    // Decoding is under way: some feedback came back, most tiles are still to decode.
    await expect.poll(() => feedback.reduce((n, f) => n + f.messages.length, 0), { timeout: 20_000, interval: 50 }).toBeGreaterThan(20);
    for (const f of feedback) f.close();
    return { c, proxy };
  }

  it('exits 0 within 5 s of SIGTERM mid-decode, lanes busy and the broker gone', async () => {
    // Thrown at it: 1536 tiles to decode and the hostile meta; while decoding, the broker goes away (every
    // connection closed, nothing listening), then SIGTERM. The old shutdown waited forever on unsubscribes
    // and on feedback that mqtt.js queued for a broker that never came back.
    const { c, proxy } = await busyCloud([]);
    await proxy.close();
    const t0 = Date.now();
    c.child.kill('SIGTERM');
    const exit = await Promise.race([c.exited, sleep(15_000).then(() => undefined)]);
    expect(exit, `still running 15 s after SIGTERM:\n${c.output().slice(-2000)}`).toBeDefined();
    expect(exit!.at - t0).toBeLessThan(5000);
    expect(exit).toMatchObject({ code: 0, signal: null });
  }, 120_000);

  it('exits at once on a second signal while the shutdown still waits', async () => {
    // Thrown at it: the same busy cloud, the broker gone, a generous --shutdown-timeout so the first
    // SIGTERM's shutdown waits (on feedback queued for the broker), then SIGINT.
    const { c, proxy } = await busyCloud(['--shutdown-timeout', '60']);
    await proxy.close();
    c.child.kill('SIGTERM');
    await c.saw(/SIGTERM: stopping/, 5000);
    const t0 = Date.now();
    c.child.kill('SIGINT');
    const exit = await Promise.race([c.exited, sleep(10_000).then(() => undefined)]);
    expect(exit, `still running 10 s after the second signal:\n${c.output().slice(-2000)}`).toBeDefined();
    expect(exit!.at - t0).toBeLessThan(2000);
    // Ended by SIGINT's default action, as a shell sees it: status 130.
    expect(exit, c.output().slice(-3000)).toMatchObject({ code: null, signal: 'SIGINT' });
  }, 120_000);

  it('prints a JSON line per finished image with --json, PSNR against the reference', async () => {
    // Thrown at it: the Kodak photograph (384 tiles), 12 of them lost, with its original as reference.
    const c = cloud(['--broker', broker.url, '--workers', '2', '--json', '--references', 'models/samples/kodak']);
    await c.saw(/akb-cloud: watching/, 60_000);
    const lossy = { ...kodak, tiles: kodak.tiles.map((t, i) => (i % 32 === 5 ? { ...t, fragments: [] } : t)) };
    await send('cam-json', lossy);
    const line = JSON.parse(await c.line(/"device":"cam-json"/, 30_000)) as Record<string, unknown>;
    expect(line).toMatchObject({ device: 'cam-json', session: 23, image: 0, name: 'kodim23.png', width: 768, height: 512, tiles: 384, received: 372, lost: 12, elsewhere: 0, reason: 'timeout', modelSet: 'akb-k256' });
    expect(line.psnr).toBeGreaterThan(20);
    expect(Math.abs((line.meanSnrDb as number) - 8)).toBeLessThan(1.5);
    expect(c.lines.every((l) => l.startsWith('{'))).toBe(true);
  }, 120_000);

  it('--devices: takes frames, metas, status, KB and requests only from the devices named', async () => {
    // Thrown at it: images, statuses, kb/req and cloud/req pings from cam-a and lab-1 (in the scope
    // "cam-a,lab-*"), from cam-b (outside), a ping from a tool named by --clients, and on cloud/ops/req
    // fleet.list from that tool and from cam-a (a device, not among the clients); then a cloud scoped to
    // ids only, which subscribes per device so cam-b's frames never reach it.
    const c = cloud(['--broker', broker.url, '--devices', 'cam-a,lab-*', '--clients', 'ops-?']);
    await c.saw(/watching cam-a,lab-\* /, 60_000);
    const small = await sendImage(sessions, fx, { width: 32, height: 64, session: 5, image: 0, firstFrameId: 0, snrDb: 8, actionId: 7, seed: 5 });
    for (const d of ['cam-a', 'lab-1', 'cam-b']) await send(d, small);
    expect(await c.line(/^image cam-a /)).toMatch(/^image cam-a session 5 #0 32x64: tiles 2, received 2, lost 0, SNR \d+\.\d\d dB \(complete\)$/);
    await c.line(/^image lab-1 /);
    expect(await rpc('cam-a').request('ping')).toMatchObject({ pong: true });
    expect(await rpc('ops-1').request('ping')).toMatchObject({ pong: true });
    await expect(rpc('cam-b').request('ping', undefined, { timeoutMs: 800 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(rpc('ops-12').request('ping', undefined, { timeoutMs: 800 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(await ops('ops-1').request('fleet.list')).toEqual(expect.any(Array));
    await expect(ops('cam-a').request('fleet.list', undefined, { timeoutMs: 800 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(rpc('cam-a').request('fleet.list')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const kbReq = new RpcClient(tool, { requestTopic: topics.kb('cam-b', 'req'), replyTopic: topics.kb('cam-b', 'res'), timeoutMs: 800 });
    await expect(kbReq.request('kb.entries', { kbVersion: set.kb!.versionId, offset: 0, count: 1 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await edge.publish(topics.status('cam-b'), 'not even a status', { qos: 1 });
    await sleep(500);
    const stats = await ops('ops-2').request<{ outOfScope: Record<string, number>; requests: Record<string, { forbidden?: number }> }>('cloud.stats');
    expect(stats.outOfScope).toMatchObject({ metas: 1, frames: 2, requests: 3, kbRequests: 1, status: 1 });
    expect(stats.requests['cloud/req']!.forbidden).toBe(1);
    expect(c.lines.some((l) => l.includes('cam-b'))).toBe(false);
    await c.kill();

    const exact = cloud(['--broker', broker.url, '--devices', 'cam-a', '--clients', 'ops']);
    await exact.saw(/watching cam-a /, 60_000);
    await send('cam-b', { ...small, meta: { ...small.meta, session: 6 } });
    await send('cam-a', { ...small, meta: { ...small.meta, session: 6 } });
    await exact.line(/^image cam-a session 6 /);
    const s = await ops('ops').request<DecoderStats>('decoder.stats');
    expect([s.metasReceived, s.fragmentsReceived, s.outOfScope.frames]).toEqual([1, 2, 0]);
  }, 120_000);
});
