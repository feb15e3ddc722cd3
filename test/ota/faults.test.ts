/**
 * OTA faults over real brokers (aedes and Mosquitto, Mosquitto with persistence): the broker restarted
 * mid-job (the job continues and completes); a device restarted mid-transfer (it resumes from the bitmap
 * it kept, asking only for the rest, and keeps asking when nobody answers after the restart); a bundle whose manifest signature does not verify and a file whose
 * SHA-256 is not the offer's (both refused, state.json byte-identical, the old version running).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, signMessage, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { BlockReader, OtaJobRunner, bundleInfo, loadPrivateKey, type BundleInfo } from '@akb/flash';
import { brokerKind, describeBrokers, mosquittoWith, type BrokerHandle } from '../support/index.js';
import { makeKeys, startDevice, tinyBundle, type Keys, type SimDevice } from './fleet.js';

const kinds = [brokerKind('aedes'), mosquittoWith({ persistence: true })];
const policy = { canary: 0, wave: 1, maxFailures: 0 };

async function until(cond: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The same bundle with the signature bytes of manifest.sig replaced by a valid signature of other bytes. */
async function withBadSignature(src: string, out: string, keys: Keys): Promise<BundleInfo> {
  const tar = gunzipSync(await readFile(src));
  const text = tar.toString('latin1');
  const at = text.indexOf('"signature":"') + '"signature":"'.length;
  const forged = sign(null, Buffer.from('not the manifest'), await loadPrivateKey(keys.key)).toString('base64');
  tar.write(forged, at, 'latin1');
  await writeFile(out, gzipSync(tar));
  return bundleInfo(out);
}

describeBrokers('OTA faults', (kind) => {
  let broker: BrokerHandle;
  let dir: string;
  let keys: Keys;
  let v1: BundleInfo;
  let sender: AkbMqttClient;
  const devices: SimDevice[] = [];

  async function device(id: string, window = 4): Promise<SimDevice> {
    const d = await startDevice({ url: broker.url, id, keys, window, retryMs: 300 });
    expect((await d.agent.install(v1.path)).status).toBe('committed');
    devices.push(d);
    return d;
  }

  beforeAll(async () => {
    broker = await kind.start();
    dir = await mkdtemp(join(tmpdir(), 'akb-ota-faults-'));
    keys = await makeKeys(dir, 'release');
    v1 = await tinyBundle(join(dir, 'v1.akb'), { version: '1.0.0', keys, payloadBytes: 10_000 });
    sender = await connectMqtt({ url: broker.url, clientId: 'ota-fault-sender', reconnectPeriodMs: 200 });
  }, 60_000);

  afterAll(async () => {
    await sender?.close({ force: true });
    await Promise.all(devices.map((d) => d.close()));
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a job going across a broker restart; it completes', async () => {
    const ids = ['brk-1', 'brk-2', 'brk-3', 'brk-4', 'brk-5'];
    const fleet = await Promise.all(ids.map((id) => device(id)));
    const v2 = await tinyBundle(join(dir, 'v2-restart.akb'), { version: '2.0.0', keys, payloadBytes: 1_500_000 });
    const runner = new OtaJobRunner({ transport: sender, jobId: 'restart-1', bundle: v2, devices: ids, policy, blockSize: 4096, offerKey: keys.signer });
    const done = runner.run();
    await until(() => fleet.some((d) => d.receiver.stats.blocks >= 40), 'blocks before the restart');
    await broker.restart({ downMs: 1000 });
    const job = await done;
    expect(job.state, JSON.stringify(job.devices)).toBe('completed');
    for (const d of fleet) expect(await d.version(), d.id).toBe('2.0.0');
  }, 120_000);

  it('resumes a transfer after the device restarts, asking only for what it misses', async () => {
    const d = await device('rst-1', 1);
    const v2 = await tinyBundle(join(dir, 'v2-resume.akb'), { version: '2.0.0', keys, payloadBytes: 1_000_000 });
    const blocks = Math.ceil(v2.size / 1024);
    const runner = new OtaJobRunner({ transport: sender, jobId: 'resume-1', bundle: v2, devices: ['rst-1'], policy, blockSize: 1024, offerKey: keys.signer });
    const done = runner.run();
    await until(() => d.receiver.stats.blocks >= 100, 'blocks before the restart');
    const first = d.receiver;
    await d.restart();
    const before = first.stats.blocks;
    const job = await done;
    expect(job.state).toBe('completed');
    expect(await d.version()).toBe('2.0.0');
    const after = d.receiver.stats.blocks;
    // The second run fetched only what the first had not kept (at most the window in flight again).
    expect(after).toBeLessThanOrEqual(blocks - before + 1);
    expect(after + before).toBeGreaterThanOrEqual(blocks);
  }, 120_000);

  it('resumes after a restart with nobody answering: asks again from its bitmap, no timeout', async () => {
    const d = await device('gap-1', 4);
    const v2 = await tinyBundle(join(dir, 'v2-gap.akb'), { version: '2.0.0', keys, payloadBytes: 10_000 });
    const gets: { index: number }[] = [];
    sender.onMessage(topics.ota('gap-1', 'get'), (m) => gets.push(decodeMessage('ota-get', m.payload)));
    await sender.subscribe(topics.ota('gap-1', 'get'), { qos: 1 });
    const offer = { v: 1 as const, transfer: 'gap-t', ts: Date.now(), bundle: { name: v2.name, version: v2.version, targetProfiles: v2.targets }, size: v2.size, sha256: v2.sha256, blockSize: 1024, signature: { algorithm: 'ed25519' as const, keyId: v2.keyId } };
    const signed = signMessage('ota-offer', offer, topics.ota('gap-1', 'offer'), keys.signer, { seq: Date.now(), expiresAt: Date.now() + 60_000 });
    await sender.publish(topics.ota('gap-1', 'offer'), encodeMessage('ota-offer', signed), { qos: 1 });
    await until(() => gets.length === 1, 'the first get');
    const reader = await BlockReader.open(v2, 1024);
    for (let i = 0; i < 4; i++) {
      const data = (await reader.read(i)).toString('base64');
      await sender.publish(topics.ota('gap-1', 'block'), encodeMessage('ota-block', { v: 1, transfer: 'gap-t', index: i, data }), { qos: 1 });
    }
    await reader.close();
    await until(() => gets.length === 2, 'the second window');
    await d.restart();
    // Nobody answers now: the receiver asks again every 300 ms from block 4 and does not give up.
    await until(() => gets.length >= 5, 'gets repeated after the restart');
    expect(gets.slice(1).map((g) => g.index)).toEqual(gets.slice(1).map(() => 4));
    expect(d.receiver.stats.results).toEqual([]);
  }, 60_000);

  it('refuses a bad signature and a hash mismatch arriving by OTA; nothing changes', async () => {
    const d = await device('sig-1');
    const v2 = await tinyBundle(join(dir, 'v2-sig.akb'), { version: '2.0.0', keys, payloadBytes: 30_000 });
    // Thrown: the same bundle with a signature that does not verify (its key id is a trusted one).
    const forged = await withBadSignature(v2.path, join(dir, 'v2-forged.akb'), keys);
    // Thrown: a genuine bundle offered with another file's SHA-256.
    const lying = { ...v2, sha256: v1.sha256 };
    const state = await d.stateBytes();
    for (const [job, bundle, reason] of [['sig-bad', forged, 'BAD_SIGNATURE'], ['sig-hash', lying, 'HASH_MISMATCH']] as const) {
      const result = d.receiver.nextResult();
      const final = await new OtaJobRunner({ transport: sender, jobId: job, bundle, devices: ['sig-1'], policy, blockSize: 4096, offerKey: keys.signer }).run();
      expect((await result).status).toBe('failed');
      expect(final.devices[0]).toMatchObject({ phase: 'failed', reason, rolledBack: false });
      expect(final.state).toBe('halted');
      expect(await d.stateBytes()).toBe(state);
      expect(await d.version()).toBe('1.0.0');
    }
    // The retained result of the last job is readable by anyone on the job topic.
    const reader = await connectMqtt({ url: broker.url, clientId: 'ota-fault-reader' });
    try {
      const got = new Promise<string>((resolve) => reader.onMessage(topics.otaJob('sig-hash'), (m) => resolve(decodeMessage('ota-job', m.payload).state)));
      await reader.subscribe(topics.otaJob('sig-hash'));
      expect(await got).toBe('halted');
    } finally {
      await reader.close();
    }
  }, 120_000);
}, kinds);
