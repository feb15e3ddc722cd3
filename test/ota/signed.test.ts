/**
 * Signed OTA offers (protocol 1.4) over a real broker (aedes and Mosquitto), a device with 1.0.0 installed
 * and the test playing a forger by hand. Thrown at the device: an offer signed by a key it does not trust,
 * one whose size was changed after signing, one past its expiresAt, an unsigned one, and a genuine offer
 * signed before the last accepted one (a replay, valid signature, old seq), again after a restart of the
 * receiver. Each is refused with its reason and counted, no block is asked for, no result is published and
 * the install state is byte-identical; the genuine job in between installs 2.0.0.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeMessage, signMessage, topics, type OtaOffer } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { OtaJobRunner, type BundleInfo } from '@akb/flash';
import { describeBrokers, type BrokerHandle } from '../support/index.js';
import { makeKeys, startDevice, tinyBundle, type Keys, type SimDevice } from './fleet.js';

const ID = 'sgn-1';
const TOPIC = topics.ota(ID, 'offer');

async function until(cond: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeBrokers('signed OTA offers', (kind) => {
  let broker: BrokerHandle;
  let dir: string;
  let keys: Keys;
  let v1: BundleInfo;
  let v2: BundleInfo;
  let peer: AkbMqttClient;
  let d: SimDevice;
  let gets = 0;
  let results = 0;

  const body = (transfer: string, b: BundleInfo): OtaOffer => ({
    v: 1, transfer, ts: Date.now(), bundle: { name: b.name, version: b.version, targetProfiles: b.targets },
    size: b.size, sha256: b.sha256, blockSize: 1024, signature: { algorithm: 'ed25519', keyId: b.keyId }, force: false,
  });
  const refused = (code: string): number => d.receiver.stats.refusals[code] ?? 0;

  beforeAll(async () => {
    broker = await kind.start();
    dir = await mkdtemp(join(tmpdir(), 'akb-ota-signed-'));
    keys = await makeKeys(dir, 'fleet');
    v1 = await tinyBundle(join(dir, 'v1.akb'), { version: '1.0.0', keys, payloadBytes: 2000 });
    v2 = await tinyBundle(join(dir, 'v2.akb'), { version: '2.0.0', keys, payloadBytes: 5000 });
    peer = await connectMqtt({ url: broker.url, clientId: 'ota-signed-peer' });
    peer.onMessage(topics.ota(ID, 'get'), () => void gets++);
    peer.onMessage(topics.ota(ID, 'result'), () => void results++);
    await peer.subscribe(topics.ota(ID, 'get'), { qos: 1 });
    await peer.subscribe(topics.ota(ID, 'result'), { qos: 1 });
    d = await startDevice({ url: broker.url, id: ID, keys, retryMs: 60_000 });
    expect((await d.agent.install(v1.path)).status).toBe('committed');
  }, 60_000);

  afterAll(async () => {
    await peer?.close();
    await d?.close();
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a forged, a tampered, an expired and an unsigned offer: nothing fetched, nothing installed', async () => {
    const state = await d.stateBytes();
    const later = { seq: Date.now(), expiresAt: Date.now() + 600_000 };
    const stranger = generateKeyPairSync('ed25519').privateKey;
    // Thrown: signed by a key the device does not trust.
    await peer.publish(TOPIC, encodeMessage('ota-offer', signMessage('ota-offer', body('forged', v2), TOPIC, stranger, later)), { qos: 1 });
    await until(() => refused('SIG_UNKNOWN_KEY') === 1, 'the forged offer refused');
    // Thrown: a genuine signature, then the size changed (the field a forger would grow).
    const tampered = { ...signMessage('ota-offer', body('tampered', v2), TOPIC, keys.signer, later), size: v2.size + 1 };
    await peer.publish(TOPIC, JSON.stringify(tampered), { qos: 1 });
    await until(() => refused('SIG_BAD') === 1, 'the tampered offer refused');
    // Thrown: a genuine offer whose time is over.
    const expired = signMessage('ota-offer', body('expired', v2), TOPIC, keys.signer, { seq: Date.now(), expiresAt: Date.now() - 1000 });
    await peer.publish(TOPIC, encodeMessage('ota-offer', expired), { qos: 1 });
    await until(() => refused('SIG_EXPIRED') === 1, 'the expired offer refused');
    // Thrown: an offer as protocol 1.3 sent it, unsigned.
    await peer.publish(TOPIC, encodeMessage('ota-offer', body('unsigned', v2)), { qos: 1 });
    await until(() => refused('SIG_MISSING') === 1, 'the unsigned offer refused');
    expect(d.receiver.stats.gets).toBe(0);
    expect(gets).toBe(0);
    expect(d.receiver.stats.results).toEqual([]);
    expect(await d.stateBytes()).toBe(state);
    await expect(readFile(join(d.root, 'signed-seq.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);

  it('installs a genuine signed job, then refuses a replay of an older genuine offer, also after a restart', async () => {
    // Signed first, so its seq is below every offer the job signs: captured by an attacker, replayed later.
    const old = encodeMessage('ota-offer', signMessage('ota-offer', body('captured', v2), TOPIC, keys.signer, { seq: Date.now() - 1, expiresAt: Date.now() + 600_000 }));
    const job = await new OtaJobRunner({ transport: peer, jobId: 'signed-1', bundle: v2, devices: [ID], policy: { canary: 0, wave: 1, maxFailures: 0 }, blockSize: 1024, offerKey: keys.signer }).run();
    expect(job.state).toBe('completed');
    expect(await d.version()).toBe('2.0.0');
    const floor = (JSON.parse(await readFile(join(d.root, 'signed-seq.json'), 'utf8')) as { floors: Record<string, number> }).floors['ota-offer']!;
    expect(floor).toBeGreaterThan(0);
    const state = await d.stateBytes();
    const before = { gets, results, fetched: d.receiver.stats.gets };
    await peer.publish(TOPIC, old, { qos: 1 });
    await until(() => refused('SIG_REPLAYED') === 1, 'the replay refused');
    await d.restart();
    await peer.publish(TOPIC, old, { qos: 1 });
    await until(() => refused('SIG_REPLAYED') === 1, 'the replay refused after the restart');
    expect(d.receiver.stats.results).toEqual([]);
    expect({ gets, results }).toEqual({ gets: before.gets, results: before.results });
    expect(await d.stateBytes()).toBe(state);
    expect(await d.version()).toBe('2.0.0');
  }, 60_000);
});
