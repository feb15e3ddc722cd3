/**
 * `images.recent` and `images.tiles` (paged) and `akb images` against a real cloud on the embedded broker,
 * with images of 384 tiles: the Kodak photograph kodim23 (768 x 512) from three devices. The unpaged
 * `images.recent` put every tile of every kept image in one answer: past two or three such images it
 * exceeded the 256 KiB message limit and the request failed with BAD_RESPONSE.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, encodeMessage, topics } from '@akb/protocol';
import { RpcClient, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { decodeImage, loadModelSet } from '@akb/jscc';
import { CloudService, ImagesRecentPage, ImagesTilesPage, folderReferences } from '@akb/cloud';
import { imagesCommand } from '../../toolkit/src/commands/images.js';
import { SetSessions, loadFixtureImages, sendImage } from '../../runtime-cloud/src/testing.js';
import { startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { runAkbCommand } from './support.js';

const DEVICES = ['kodak-1', 'kodak-2', 'kodak-3'];

describe('recent images, paged, and akb images (a cloud on aedes, 384-tile images)', () => {
  let broker: AedesHandle;
  let cloud: CloudService;
  let edge: AkbMqttClient;
  let tool: AkbMqttClient;
  let toCloud: RpcClient;

  beforeAll(async () => {
    broker = await startAedes();
    const set = await loadModelSet('models/zoo', 'akb-k256');
    cloud = await CloudService.start({
      brokerUrl: broker.url, clientId: uniqueId('cloud'), sets: [set], kbDir: 'models/zoo/akb-kb-k256',
      references: folderReferences('models/samples/kodak'), decoder: { workers: 2 },
    });
    edge = await connectMqtt({ url: broker.url, clientId: uniqueId('edge') });
    tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
    toCloud = new RpcClient(tool, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes(uniqueId('t')), timeoutMs: 5000 });
    const [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
    const original = await decodeImage(await readFile('models/samples/kodak/kodim23.png'), 'kodim23.png');
    const sent = await sendImage(sessions, fx, { width: 768, height: 512, original, session: 7, image: 0, firstFrameId: 0, name: 'kodim23.png', snrDb: 8, actionId: 10, seed: 7 });
    await sessions.release();
    let n = 0;
    cloud.decoder!.images.on(() => n++);
    for (const d of DEVICES) {
      await edge.publish(topics.linkMeta(d), encodeMessage('image-meta', sent.meta), { qos: 1 });
      for (const t of sent.tiles) for (const f of t.fragments) await edge.publish(topics.linkRx(d), f);
    }
    for (const end = Date.now() + 60_000; n < 3 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 200));
    if (n < 3) throw new Error(`${n} of 3 images decoded after 60 s`);
  }, 120_000);
  afterAll(async () => {
    await toCloud?.stop();
    await cloud?.stop();
    await Promise.all([edge?.close({ force: true }), tool?.close({ force: true })]);
    await broker?.close();
  });

  it('answers images.recent with summaries under the message limit, newest first, with next offsets', async () => {
    // Thrown at it: three images of 384 tiles kept; a first page of 2, then the rest.
    const first = ImagesRecentPage.parse(await toCloud.request('images.recent', { limit: 2 }));
    expect([first.total, first.images.length, first.next]).toEqual([3, 2, 2]);
    expect(first.images.map((r) => r.device)).toEqual(['kodak-3', 'kodak-2']);
    expect(first.images[0]).toMatchObject({ name: 'kodim23.png', tiles: 384, width: 768, height: 512, complete: true, reason: 'complete' });
    expect(first.images[0]!.psnr).toBeGreaterThan(20);
    expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThan(MAX_MESSAGE_BYTES / 16);
    const rest = ImagesRecentPage.parse(await toCloud.request('images.recent', { offset: first.next }));
    expect([rest.images.map((r) => r.device), rest.next]).toEqual([['kodak-1'], null]);
    const one = ImagesRecentPage.parse(await toCloud.request('images.recent', { device: 'kodak-2' }));
    expect([one.total, one.images[0]!.device]).toEqual([1, 'kodak-2']);
  });

  it('pages one image\'s 384 tile results with images.tiles', async () => {
    const seen: number[] = [];
    let pages = 0;
    for (let offset: number | null = 0; offset !== null; pages++) {
      const page = ImagesTilesPage.parse(await toCloud.request('images.tiles', { device: 'kodak-1', session: 7, image: 0, offset, limit: 256 }));
      seen.push(...page.tileResults.map((t) => t.index));
      expect(page.tileResults.every((t) => t.status === 'decoded' && t.psnr !== undefined)).toBe(true);
      offset = page.next;
    }
    expect([pages, seen]).toEqual([2, Array.from({ length: 384 }, (_, i) => i)]);
  });

  it('akb images prints the recent images as a table, and as JSON', async () => {
    const table = await runAkbCommand(imagesCommand, ['images', '--broker', broker.url, '--limit', '2']);
    expect([table.code, table.err]).toEqual([0, []]);
    expect(table.out[0]).toMatch(/^finished\s+device\s+session\s+image\s+name\s+size\s+tiles\s+received\s+lost\s+psnr dB\s+snr dB\s+reason$/);
    expect(table.out.slice(1, 3).map((l) => l.split(/\s+/).slice(1, 9))).toEqual([
      ['kodak-3', '7', '0', 'kodim23.png', '768x512', '384', '384', '0'],
      ['kodak-2', '7', '0', 'kodim23.png', '768x512', '384', '384', '0'],
    ]);
    expect(table.out.at(-1)).toBe('2 of 3 recent image(s), newest first');
    const json = await runAkbCommand(imagesCommand, ['images', '--broker', broker.url, '--device', 'kodak-1', '--json']);
    const parsed = JSON.parse(json.out.join('\n')) as { total: number; images: { device: string; tiles: number; psnr: number }[] };
    expect(parsed.total).toBe(1);
    expect(parsed.images[0]).toMatchObject({ device: 'kodak-1', tiles: 384 });
    expect(parsed.images[0]!.psnr).toBeGreaterThan(20);
  });

  it('akb images says what went wrong in one line when no cloud answers', async () => {
    // Thrown at it: a broker with no cloud on it (a fresh aedes), and a device id with a slash.
    const empty = await startAedes();
    try {
      const r = await runAkbCommand(imagesCommand, ['images', '--broker', empty.url, '--timeout', '0.5']);
      expect(r.code).not.toBe(0);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^akb: .*images\.recent/);
      const bad = await runAkbCommand(imagesCommand, ['images', '--broker', empty.url, '--device', 'a/b']);
      expect([bad.code, bad.err.length]).toEqual([1, 1]);
    } finally {
      await empty.close();
    }
  });
});
