/**
 * Hostile OTA messages over a real broker (aedes and Mosquitto), the test playing the other end by hand.
 * At a device in the middle of a transfer: an offer on another device's topic, an offer that is not
 * JSON, a block of another transfer, a block of the wrong size, a block outside the window it asked for,
 * a block that is not JSON; it drops each (nothing written) and installs the genuine blocks. At a sender:
 * a get whose window runs past the last block, a get of another transfer, a get from a device not in the
 * job, a progress that is not JSON; it drops each without reading a block, serves the one genuine get,
 * and fails the silent device with TRANSFER_TIMEOUT.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, signMessage, topics, type OtaGet } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { BlockReader, OtaJobRunner, type BundleInfo } from '@akb/flash';
import { describeBrokers, type BrokerHandle } from '../support/index.js';
import { makeKeys, startDevice, tinyBundle, type Keys, type SimDevice } from './fleet.js';

const BLOCK = 1024;

describeBrokers('OTA hostile messages', (kind) => {
  let broker: BrokerHandle;
  let dir: string;
  let keys: Keys;
  let v1: BundleInfo;
  let v2: BundleInfo;
  let peer: AkbMqttClient;
  let d: SimDevice;

  beforeAll(async () => {
    broker = await kind.start();
    dir = await mkdtemp(join(tmpdir(), 'akb-ota-hostile-'));
    keys = await makeKeys(dir, 'release');
    v1 = await tinyBundle(join(dir, 'v1.akb'), { version: '1.0.0', keys, payloadBytes: 1000 });
    v2 = await tinyBundle(join(dir, 'v2.akb'), { version: '2.0.0', keys, payloadBytes: 3000 });
    peer = await connectMqtt({ url: broker.url, clientId: 'ota-hostile-peer' });
    d = await startDevice({ url: broker.url, id: 'hst-1', keys, window: 16, retryMs: 60_000 });
    expect((await d.agent.install(v1.path)).status).toBe('committed');
  }, 60_000);

  afterAll(async () => {
    await peer?.close();
    await d?.close();
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a device drops what is not its transfer, its window or its size, and installs the genuine blocks', async () => {
    const gets: OtaGet[] = [];
    const gotGet = new Promise<void>((resolve) =>
      peer.onMessage(topics.ota('hst-1', 'get'), (m) => {
        gets.push(decodeMessage('ota-get', m.payload));
        resolve();
      }),
    );
    await peer.subscribe(topics.ota('hst-1', 'get'), { qos: 1 });
    const body = {
      v: 1 as const, transfer: 'hand-1', ts: Date.now(), bundle: { name: v2.name, version: v2.version, targetProfiles: v2.targets },
      size: v2.size, sha256: v2.sha256, blockSize: BLOCK, signature: { algorithm: 'ed25519' as const, keyId: v2.keyId },
    };
    const offer = encodeMessage('ota-offer', signMessage('ota-offer', body, topics.ota('hst-1', 'offer'), keys.signer, { seq: Date.now(), expiresAt: Date.now() + 60_000 }));
    // Thrown: the offer on another device's topic, then an offer that is not JSON.
    await peer.publish(topics.ota('hst-2', 'offer'), offer, { qos: 1 });
    await peer.publish(topics.ota('hst-1', 'offer'), '{"v":1,', { qos: 1 });
    await peer.publish(topics.ota('hst-1', 'offer'), offer, { qos: 1 });
    await gotGet;
    expect(d.receiver.stats.offers).toBe(1);
    const get = gets[0]!;
    expect(get).toMatchObject({ transfer: 'hand-1', index: 0 });
    const reader = await BlockReader.open(v2, BLOCK);
    try {
      const block = (index: number, data: Buffer, transfer = 'hand-1') => encodeMessage('ota-block', { v: 1, transfer, index, data: data.toString('base64') });
      const first = await reader.read(0);
      const bad = [
        block(0, first, 'hand-2'), // another transfer
        block(0, first.subarray(0, 100)), // the wrong size
        block(get.count + 5, first), // outside the window asked for
        '[]', // not an ota-block
      ];
      for (const b of bad) await peer.publish(topics.ota('hst-1', 'block'), b, { qos: 1 });
      const result = d.receiver.nextResult();
      for (let i = 0; i < reader.blocks; i++) await peer.publish(topics.ota('hst-1', 'block'), block(i, await reader.read(i)), { qos: 1 });
      expect(await result).toMatchObject({ status: 'ok', version: '2.0.0' });
    } finally {
      await reader.close();
    }
    expect(d.receiver.stats.dropped).toBe(5);
    expect(d.receiver.stats.blocks).toBe(Math.ceil(v2.size / BLOCK));
    expect(await d.version()).toBe('2.0.0');
  }, 60_000);

  it('a sender drops gets past the end, of another transfer or from strangers, reading nothing for them', async () => {
    const blocks: number[] = [];
    peer.onMessage('akb/v1/dev/+/ota/block', (m) => blocks.push(decodeMessage('ota-block', m.payload).index));
    await peer.subscribe('akb/v1/dev/+/ota/block', { qos: 1 });
    const offered = new Promise<void>((resolve) => peer.onMessage(topics.ota('hst-silent', 'offer'), () => resolve()));
    await peer.subscribe(topics.ota('hst-silent', 'offer'), { qos: 1 });
    const sender = await connectMqtt({ url: broker.url, clientId: 'ota-hostile-sender' });
    const runner = new OtaJobRunner({
      transport: sender,
      jobId: 'hostile-1', bundle: v2, devices: ['hst-silent'], policy: { canary: 0, wave: 1, maxFailures: 0 }, blockSize: BLOCK, deviceTimeoutMs: 1500, offerKey: keys.signer,
    });
    const done = runner.run();
    await offered;
    const nBlocks = Math.ceil(v2.size / BLOCK);
    const get = (device: string, g: object) => peer.publish(topics.ota(device, 'get'), JSON.stringify({ v: 1, transfer: 'hostile-1', ...g }), { qos: 1 });
    // Thrown: a window running past the last block, another transfer, a device not in the job, a progress that is not JSON.
    await get('hst-silent', { index: nBlocks - 1, count: 2 });
    await get('hst-silent', { transfer: 'other', index: 0, count: 1 });
    await get('hst-stranger', { index: 0, count: 1 });
    await peer.publish(topics.ota('hst-silent', 'progress'), 'not json', { qos: 0 });
    await get('hst-silent', { index: 1, count: 1 });
    const job = await done.finally(() => sender.close());
    expect(runner.stats.dropped).toBe(4);
    expect(blocks).toEqual([1]);
    expect(job.devices[0]).toMatchObject({ phase: 'failed', reason: 'TRANSFER_TIMEOUT' });
  }, 60_000);
});
