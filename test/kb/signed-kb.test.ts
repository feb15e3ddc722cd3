/**
 * Signed source-KB sync (protocol 1.4) over a real broker (aedes and Mosquitto).
 * With the real cloud (KbService, the reference KB akb-kb-k256, the fleet key): an edge (KbSync) fetches
 * the 256 entries, checks the digest and stores them; an unsigned cloud is refused by a default edge and
 * taken by one configured to allow unsigned KB updates.
 * With the test as a hostile cloud for a device outside the real cloud's scope, holding a two-entry KB:
 * a forged announce (another key), a replayed announce (genuine, old seq), a forged page, a replayed page
 * and a tampered page are each refused with their reason, and kb.json stays byte-identical, also across
 * a restart of the edge (the replay floor is on disk); the genuine update afterwards is taken.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  decodeMessage, encodeEmbedding, encodeMessage, kbDigest, kbVersionOf, seqClock, signMessage, topics,
  type KbAnnounce, type KbEntryResponse, type SigKey,
} from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { generateKeyFiles, loadPrivateKey, loadTrustedKeys } from '@akb/flash';
import { DeviceScope, KbService } from '@akb/cloud';
import { KbSync } from '@akb/edge';
import { describeBrokers, type BrokerHandle } from '../support/index.js';

const KB_DIR = new URL('../../models/zoo/akb-kb-k256/', import.meta.url).pathname;
const HAND = 'kbs-hand';

/** A two-entry KB whose embeddings start at `base`. */
function tinyKb(base: number): { announce: Omit<KbAnnounce, 'ts'>; page: KbEntryResponse } {
  const embeddings = [new Float32Array([base, -0.25]), new Float32Array([1, base + 2])];
  const kbVersion = kbVersionOf(embeddings);
  const entries = embeddings.map((e, index) => ({ index, embedding: encodeEmbedding(e), prior: 0.5 }));
  return {
    announce: { v: 1, kbVersion, entries: 2, dims: 2, sha256: kbDigest(embeddings.map((embedding) => ({ embedding, prior: 0.5 }))), created: '2026-01-01T00:00:00Z' },
    page: { kbVersion, offset: 0, total: 2, dims: 2, entries },
  };
}

describeBrokers('signed KB sync', (kind) => {
  let broker: BrokerHandle;
  let dir: string;
  let fleet: KeyObject;
  let trusted: SigKey[];
  const clients: AkbMqttClient[] = [];
  const connect = async (id: string): Promise<AkbMqttClient> => {
    const c = await connectMqtt({ url: broker.url, clientId: id });
    clients.push(c);
    return c;
  };
  const edge = async (id: string, o: { allowUnsigned?: boolean } = {}): Promise<KbSync> =>
    new KbSync({ transport: await connect(`${id}-${clients.length}`), deviceId: id, dir: join(dir, id), trustedKeys: trusted, timeoutMs: 20_000, ...o });

  beforeAll(async () => {
    broker = await kind.start();
    dir = await mkdtemp(join(tmpdir(), 'akb-kb-signed-'));
    const made = await generateKeyFiles(dir, 'fleet');
    fleet = await loadPrivateKey(made.privateKey);
    trusted = await loadTrustedKeys([made.publicKey]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ force: true })));
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('syncs the real cloud\'s signed KB; an unsigned cloud is refused unless unsigned KB updates are allowed', async () => {
    const scope = DeviceScope.parse(['kbs-1', 'kbs-2', 'kbs-3']);
    const signed = await KbService.start(await connect('kb-cloud-signed'), { dir: KB_DIR, fleetKey: fleet, scope });
    const e1 = await edge('kbs-1');
    let handled = e1.nextHandled();
    await e1.start();
    await handled;
    expect(e1.stats).toMatchObject({ synced: 1, pages: 4, refusals: {} });
    expect(e1.current()).toMatchObject({ kbVersion: signed.announcement().kbVersion, sha256: signed.announcement().sha256 });
    expect(e1.current()!.entries).toHaveLength(256);
    await e1.stop();
    await signed.stop();

    const unsigned = await KbService.start(await connect('kb-cloud-unsigned'), { dir: KB_DIR, scope });
    const strict = await edge('kbs-2');
    handled = strict.nextHandled();
    await strict.start();
    await handled;
    expect(strict.stats).toMatchObject({ synced: 0, pages: 0, refusals: { SIG_MISSING: 1 } });
    expect(strict.current()).toBeUndefined();
    await expect(readFile(strict.path)).rejects.toMatchObject({ code: 'ENOENT' });
    const lax = await edge('kbs-3', { allowUnsigned: true });
    handled = lax.nextHandled();
    await lax.start();
    await handled;
    expect(lax.stats).toMatchObject({ synced: 1, pages: 4, refusals: {} });
    await strict.stop();
    await lax.stop();
    await unsigned.stop();
  }, 120_000);

  it('refuses forged and replayed announces and pages, and a tampered page: the KB held does not change', async () => {
    const cloud = await connect('kb-hand-cloud');
    const announceTopic = topics.kbAnnounce();
    const resTopic = topics.kb(HAND, 'res');
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const t1 = tinyKb(0.5);
    const t2 = tinyKb(3);
    const seq = seqClock();
    const later = () => ({ seq: seq(), expiresAt: Date.now() + 600_000 });
    // What this hostile cloud answers to the next kb.entries.
    let answer: () => unknown = () => signMessage('kb-entry-response', t1.page, resTopic, fleet, later());
    let requests = 0;
    cloud.onMessage(topics.kb(HAND, 'req'), (m) => {
      requests++;
      const req = decodeMessage('request', m.payload);
      void cloud.publish(resTopic, JSON.stringify({ v: 1, id: req.id, status: 'ok', data: answer() }), { qos: 1 });
    });
    await cloud.subscribe(topics.kb(HAND, 'req'), { qos: 1 });
    const announce = (a: Omit<KbAnnounce, 'ts'>, key: KeyObject, o = later()) => encodeMessage('kb-announce', signMessage('kb-announce', { ...a, ts: Date.now() }, announceTopic, key, o));
    // Captured by an attacker before anything else is signed: a genuine page and a genuine announce, old seqs.
    const oldPage = signMessage('kb-entry-response', t2.page, resTopic, fleet, later());
    const oldAnnounce = announce(t2.announce, fleet);

    const send = async (payload: string): Promise<void> => {
      const handled = e.nextHandled();
      await cloud.publish(announceTopic, payload, { qos: 1, retain: true });
      await handled;
    };
    // The retained announce replaces the unsigned one the first test left; the edge reads it on start.
    await cloud.publish(announceTopic, announce(t1.announce, fleet), { qos: 1, retain: true });
    let e = await edge(HAND);
    const started = e.nextHandled();
    await e.start();
    await started;
    expect(e.stats).toMatchObject({ synced: 1, refusals: {} });
    const held = await readFile(e.path);

    await send(announce(t2.announce, stranger));
    expect(e.stats.refusals).toEqual({ SIG_UNKNOWN_KEY: 1 });
    await send(oldAnnounce);
    expect(e.stats.refusals).toMatchObject({ SIG_REPLAYED: 1 });
    expect(requests).toBe(1);
    answer = () => signMessage('kb-entry-response', t2.page, resTopic, stranger, later());
    await send(announce(t2.announce, fleet));
    expect(e.stats.refusals).toMatchObject({ SIG_UNKNOWN_KEY: 2 });
    answer = () => oldPage;
    await send(announce(t2.announce, fleet));
    expect(e.stats.refusals).toMatchObject({ SIG_REPLAYED: 2 });
    answer = () => {
      const page = signMessage('kb-entry-response', t2.page, resTopic, fleet, later());
      return { ...page, entries: page.entries.map((x) => ({ ...x, prior: 0.75 })) };
    };
    await send(announce(t2.announce, fleet));
    expect(e.stats.refusals).toMatchObject({ SIG_BAD: 1 });
    expect(e.stats.synced).toBe(1);
    expect(await readFile(e.path)).toEqual(held);

    // A restart keeps the floors: the replayed announce is refused again, the KB held is read back.
    await send(announce(t1.announce, fleet)); // the KB held, retained for the restarted edge to read first
    expect(requests).toBe(4);
    await e.stop();
    e = await edge(HAND);
    let first = e.nextHandled();
    await e.start();
    await first;
    expect(e.current()?.kbVersion).toBe(t1.announce.kbVersion);
    first = e.nextHandled();
    await cloud.publish(announceTopic, oldAnnounce, { qos: 1, retain: true });
    await first;
    expect(e.stats.refusals).toEqual({ SIG_REPLAYED: 1 });
    expect(await readFile(e.path)).toEqual(held);

    answer = () => signMessage('kb-entry-response', t2.page, resTopic, fleet, later());
    await send(announce(t2.announce, fleet));
    expect(e.stats.synced).toBe(1);
    expect(e.current()?.kbVersion).toBe(t2.announce.kbVersion);
    await e.stop();
  }, 120_000);
});
