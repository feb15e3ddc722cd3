/**
 * `akb-cloud --fleet-key`, the built program on the embedded broker: the retained KB announce it
 * publishes is signed by the fleet key, and an edge's KbSync trusting only that key syncs the 256 entries
 * of the reference KB from it. A fleet key that is not a private key, or not there, is one line and exit 2.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, verifySigned, type SigKey } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { generateKeyFiles, loadTrustedKeys } from '@akb/flash';
import { KbSync } from '@akb/edge';
import { startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { spawnCloud, type CloudProcess } from '../cloud/support.js';

const KB_DIR = new URL('../../models/zoo/akb-kb-k256/', import.meta.url).pathname;

describe('akb-cloud --fleet-key', () => {
  let broker: AedesHandle;
  let dir: string;
  let key: { privateKey: string; publicKey: string; keyId: string };
  let trusted: SigKey[];
  let client: AkbMqttClient;
  const running: CloudProcess[] = [];

  beforeAll(async () => {
    broker = await startAedes();
    dir = await mkdtemp(join(tmpdir(), 'akb-cloud-fleet-'));
    key = await generateKeyFiles(dir, 'fleet');
    trusted = await loadTrustedKeys([key.publicKey]);
    client = await connectMqtt({ url: broker.url, clientId: uniqueId('kb-edge') });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(running.map((c) => c.kill()));
    await client?.close({ force: true });
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs the retained announce; an edge trusting the fleet key syncs the KB from it', async () => {
    const cloud = spawnCloud(['--broker', broker.url, '--kb', KB_DIR, '--fleet-key', key.privateKey, '--client-id', uniqueId('cloud')]);
    running.push(cloud);
    const sync = new KbSync({ transport: client, deviceId: 'kbc-1', dir: join(dir, 'edge'), trustedKeys: trusted });
    const synced = new Promise<void>((resolve) => {
      const check = (): void => void (sync.stats.synced > 0 ? resolve() : sync.nextHandled().then(check));
      check();
    });
    await sync.start();
    await synced;
    expect(sync.stats.refusals).toEqual({});
    expect(sync.current()!.entries).toHaveLength(256);
    const announce = await new Promise<unknown>((resolve) => {
      const off = client.onMessage(topics.kbAnnounce(), (m) => {
        off();
        resolve(JSON.parse(Buffer.from(m.payload).toString('utf8')));
      });
      void client.unsubscribe(topics.kbAnnounce()).then(() => client.subscribe(topics.kbAnnounce(), { qos: 1 }));
    });
    const { sig } = verifySigned('kb-announce', announce, topics.kbAnnounce(), trusted, { now: Date.now() });
    expect(sig).toMatchObject({ keyId: key.keyId });
    expect(sig!.expiresAt).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);
    await sync.stop();
  }, 120_000);

  it.each([
    ['a public key', () => key.publicKey],
    ['no file', () => join(dir, 'missing.key')],
  ])('refuses %s as the fleet key: one line, exit 2', async (_what, path) => {
    const cloud = spawnCloud(['--broker', broker.url, '--kb', KB_DIR, '--fleet-key', path(), '--client-id', uniqueId('cloud')]);
    running.push(cloud);
    const { code } = await cloud.exited;
    expect(code, cloud.output()).toBe(2);
    expect(cloud.output().trim().split('\n'), cloud.output()).toHaveLength(1);
    expect(cloud.output()).toMatch(/fleet key|private key/);
  }, 60_000);
});
