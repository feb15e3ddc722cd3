/**
 * The cloud service over an in-memory bus: the source KB service (announce, kb.entries on cloud/ops/req
 * and a device's kb/req, reload to a new version), intents forwarded to edges, and the split of the
 * operations: on cloud/req, which every device may write, only ping and kb.entries.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEmbedding, decodeMessage, kbDigest, topics, validateMessage, type IntentMessage, type KbEntryResponse } from '@akb/protocol';
import { MemoryBus, RpcClient, RpcServer } from '@akb/protocol/mqtt';
import { loadModelSet, type ModelSet } from '@akb/jscc';
import { CloudService } from './service.js';

describe('cloud service (in-memory bus)', () => {
  let dir: string;
  let set: ModelSet;
  let bus: MemoryBus;
  let service: CloudService;
  let toCloud: RpcClient;
  const intents: unknown[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-kb-'));
    await cp('models/zoo/akb-kb-k256', dir, { recursive: true });
    set = await loadModelSet('models/zoo', 'akb-k256');
    bus = new MemoryBus();
    service = await CloudService.attach(bus.client(), { sets: [set], kbDir: dir, clientId: 'cloud-test', decoder: { lane: 'inline' } });
    const tool = bus.client();
    toCloud = new RpcClient(tool, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes('tool'), timeoutMs: 3000 });
    const edge = new RpcServer(bus.client(), { requestTopic: topics.cmdReq('cam-01'), handlers: { 'intent.set': (args) => void intents.push(args) } });
    await edge.start();
  });
  afterAll(async () => {
    await service?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('announces the KB retained, with the digest of what kb.entries serves', async () => {
    const announce = bus.log.find((m) => m.topic === topics.kbAnnounce())!;
    const a = decodeMessage('kb-announce', announce.payload);
    expect(announce).toBeDefined();
    expect(a.kbVersion).toBe(set.kb!.versionId);
    expect([a.entries, a.dims, a.model]).toEqual([256, 64, 'akb-vision-encoder']);
    const entries: { embedding: Float32Array; prior: number }[] = [];
    for (let offset = 0; offset < a.entries; offset += 64) {
      const page = validateMessage('kb-entry-response', await toCloud.request<KbEntryResponse>('kb.entries', { kbVersion: a.kbVersion, offset, count: 64 }));
      for (const e of page.entries) entries.push({ embedding: decodeEmbedding(e.embedding), prior: e.prior });
    }
    expect(kbDigest(entries)).toBe(a.sha256);
    expect(Array.from(entries[3]!.embedding)).toEqual(Array.from(set.kb!.keys.subarray(3 * 64, 4 * 64)));
  });

  it('answers kb.entries on a device kb/req, and KB_VERSION_GONE for a version it does not keep', async () => {
    const device = new RpcClient(bus.client(), { requestTopic: topics.kb('cam-01', 'req'), replyTopic: topics.kb('cam-01', 'res') });
    const page = await device.request<KbEntryResponse>('kb.entries', { kbVersion: set.kb!.versionId, offset: 250, count: 64 });
    expect([page.offset, page.entries.length, page.total]).toEqual([250, 6, 256]);
    await expect(device.request('kb.entries', { kbVersion: 7, offset: 0, count: 1 })).rejects.toMatchObject({ code: 'KB_VERSION_GONE' });
    await expect(device.request('kb.entries', { kbVersion: 7, offset: 0, count: 65 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('pushes a new version on kb.reload and still serves the previous one', async () => {
    // Thrown at it: the snapshot's keys changed on disk (a rebuild by the LVM agent), kb.json updated.
    const keys = await readFile(join(dir, 'keys.f32'));
    keys.writeFloatLE(keys.readFloatLE(0) + 1, 0);
    await writeFile(join(dir, 'keys.f32'), keys);
    const meta = JSON.parse(await readFile(join(dir, 'kb.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
    meta.files['keys.f32']!.sha256 = createHash('sha256').update(keys).digest('hex');
    await writeFile(join(dir, 'kb.json'), JSON.stringify(meta));
    const before = bus.log.filter((m) => m.topic === topics.kbAnnounce()).length;
    const r = await toCloud.request<{ kbVersion: number; previous: number; changed: boolean }>('kb.reload');
    expect(r).toMatchObject({ previous: set.kb!.versionId, changed: true });
    expect(r.kbVersion).not.toBe(set.kb!.versionId);
    const announces = bus.log.filter((m) => m.topic === topics.kbAnnounce());
    expect(announces.length).toBe(before + 1);
    expect(decodeMessage('kb-announce', announces.at(-1)!.payload).kbVersion).toBe(r.kbVersion);
    const old = await toCloud.request<KbEntryResponse>('kb.entries', { kbVersion: set.kb!.versionId, offset: 0, count: 1 });
    expect(decodeEmbedding(old.entries[0]!.embedding)[0]).toBe(set.kb!.keys[0]);
    expect(await toCloud.request('kb.reload')).toMatchObject({ changed: false });
  });

  it('turns an intent into weights, forwards it to the edge and rewards that edge with them', async () => {
    const intent: IntentMessage = {
      v: 1, id: 'night', ts: Date.now(), target: { scope: 'device', device: 'cam-01' },
      quality: { metric: 'psnr', min: 20 }, bandwidth: { maxBandwidthRatio: 1 / 48 }, priority: 'bandwidth',
    };
    const r = await toCloud.request<{ weights: { costUse: number }; forwarded: { device: string; status: string }[] }>('intent.set', intent);
    expect(r.forwarded).toEqual([{ device: 'cam-01', status: 'ok' }]);
    expect(intents).toEqual([intent]);
    expect(r.weights.costUse).toBeGreaterThan(1);
    expect(service.intents.weightsFor('cam-01')).toEqual(r.weights);
    await expect(toCloud.request('intent.set', { ...intent, quality: undefined })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const absent = await toCloud.request<{ forwarded: { status: string; code?: string }[] }>('intent.set', { ...intent, id: 'x', target: { scope: 'device', device: 'cam-99' } }, { timeoutMs: 6000 });
    expect(absent.forwarded).toMatchObject([{ status: 'error', code: 'TIMEOUT' }]);
  });

  it('serves on cloud/req only ping and kb.entries: an operator operation there is FORBIDDEN and does nothing', async () => {
    // Thrown at it: device cam-02 asking on cloud/req for intent.set targeting cam-01 (the cloud used to
    // forward it to cam-01's cmd/req), kb.reload and every other operator operation; then an unknown op,
    // ping and kb.entries, which a device may ask for.
    const device = new RpcClient(bus.client(), { requestTopic: topics.cloudReq(), replyTopic: topics.cloudRes('cam-02'), timeoutMs: 3000 });
    const intent: IntentMessage = {
      v: 1, id: 'hijack', ts: Date.now(), target: { scope: 'device', device: 'cam-01' }, quality: { metric: 'psnr', min: 10 }, bandwidth: { maxSymbolsPerFrame: 8 }, priority: 'bandwidth',
    };
    const commandsBefore = bus.log.filter((m) => m.topic === topics.cmdReq('cam-01')).length;
    const announcesBefore = bus.log.filter((m) => m.topic === topics.kbAnnounce()).length;
    const weightsBefore = service.intents.weightsFor('cam-01');
    for (const op of ['intent.set', 'kb.reload', 'fleet.list', 'decoder.stats', 'images.recent', 'images.tiles', 'cloud.stats']) {
      await expect(device.request(op, op === 'intent.set' ? intent : undefined), op).rejects.toMatchObject({ code: 'FORBIDDEN', hint: expect.stringContaining(topics.cloudOpsReq()) as string });
    }
    await expect(device.request('reboot.now')).rejects.toMatchObject({ code: 'UNKNOWN_OP' });
    expect(await device.request('ping')).toMatchObject({ pong: true });
    const page = await device.request<KbEntryResponse>('kb.entries', { kbVersion: service.kb!.current!.versionId, offset: 0, count: 1 });
    expect(page.entries).toHaveLength(1);
    expect(bus.log.filter((m) => m.topic === topics.cmdReq('cam-01')).length).toBe(commandsBefore);
    expect(bus.log.filter((m) => m.topic === topics.kbAnnounce()).length).toBe(announcesBefore);
    expect(service.intents.weightsFor('cam-01')).toEqual(weightsBefore);
    const stats = await toCloud.request<{ requests: Record<string, { forbidden?: number; ok: number }> }>('cloud.stats');
    expect(stats.requests['cloud/req']).toMatchObject({ forbidden: 7, ok: 2 });
    await device.stop();
  });

  it('reports decoder statistics and recent images', async () => {
    expect(await toCloud.request('decoder.stats')).toMatchObject({ framesDecoded: 0, framesMalformed: 0 });
    expect(await toCloud.request('images.recent')).toEqual({ total: 0, offset: 0, images: [], next: null });
  });
});
