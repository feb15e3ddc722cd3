/**
 * OTA figures through a private Mosquitto, each with a baseline measured in the same run:
 * - throughput for 1 and for 50 devices (simulated in this process: an InstallAgent and an OtaReceiver
 *   each, window 16 blocks of 64 KiB): the bundle's bytes times the devices over the time from the start
 *   of the job to the last device reporting `verifying` (every block held; the install is not counted).
 *   Baseline: the same bytes published raw at QoS 1 in 64 KiB messages to as many subscribers (one topic
 *   each), no requests, no bitmap, no file writes: the most the broker carries this way.
 * - halt: 10 devices all failing their health check, threshold 0: from the result that passes the
 *   threshold to the broker's acknowledgement of the retained `halted` state. Baseline: one retained
 *   QoS 1 publish of the same state, acknowledged.
 * Run: `npx tsx bench/flash/ota.ts` (build first: npx tsc -b).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeMessage, encodeMessage } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { OtaJobRunner, type BundleInfo } from '@akb/flash';
import { startMosquitto } from '../../test/support/mosquitto.js';
import { makeKeys, startDevice, tinyBundle, type Keys, type SimDevice } from '../../test/ota/fleet.js';

const BLOCK = 64 * 1024;
const policy = { canary: 0, wave: 1, maxFailures: 0 };

/** Seconds to publish `bytes` raw in BLOCK messages to `n` subscribers, each on its own topic. */
async function rawPublish(url: string, bytes: Buffer, n: number): Promise<number> {
  const pub = await connectMqtt({ url, clientId: 'bench-raw-pub' });
  const subs: AkbMqttClient[] = [];
  const blocks = Math.ceil(bytes.length / BLOCK);
  let received = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  for (let i = 0; i < n; i++) {
    const s = await connectMqtt({ url, clientId: `bench-raw-sub-${i}` });
    s.onMessage(`bench/raw/${i}`, () => {
      if (++received === blocks * n) resolveAll();
    });
    await s.subscribe(`bench/raw/${i}`, { qos: 1 });
    subs.push(s);
  }
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      for (let b = 0; b < blocks; b += 16) {
        const window = [];
        for (let k = b; k < Math.min(blocks, b + 16); k++) window.push(pub.publish(`bench/raw/${i}`, bytes.subarray(k * BLOCK, (k + 1) * BLOCK), { qos: 1 }));
        await Promise.all(window);
      }
    }),
  );
  await all;
  const s = (performance.now() - t0) / 1000;
  await Promise.all([pub, ...subs].map((c) => c.close()));
  return s;
}

/** Seconds from the start of a job to the last of `devices` reporting every block held. */
async function otaTransfer(url: string, keys: Keys, bundle: BundleInfo, devices: SimDevice[], job: string): Promise<number> {
  const watcher = await connectMqtt({ url, clientId: `bench-watch-${job}` });
  const sender = await connectMqtt({ url, clientId: `bench-sender-${job}` });
  const held = new Set<string>();
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  watcher.onMessage('akb/v1/dev/+/ota/progress', (m) => {
    const p = decodeMessage('ota-progress', m.payload);
    if (p.transfer === job && p.phase !== 'downloading' && !held.has(m.topic)) {
      held.add(m.topic);
      if (held.size === devices.length) resolveAll();
    }
  });
  await watcher.subscribe('akb/v1/dev/+/ota/progress', { qos: 0 });
  const runner = new OtaJobRunner({ transport: sender, jobId: job, bundle, devices: devices.map((d) => d.id), policy, blockSize: BLOCK, offerKey: keys.signer });
  const t0 = performance.now();
  const done = runner.run();
  await all;
  const s = (performance.now() - t0) / 1000;
  const final = await done;
  if (final.state !== 'completed') throw new Error(`bench ota: job ${job} ended ${final.state}`);
  await Promise.all([watcher.close(), sender.close()]);
  return s;
}

async function haltFigures(url: string, keys: Keys, v1: BundleInfo, v2: BundleInfo): Promise<object> {
  const devices = await Promise.all(Array.from({ length: 10 }, (_, i) => startDevice({ url, id: `bench-halt-${i}`, keys, failing: ['3.0.0'] })));
  try {
    for (const d of devices) await d.agent.install(v1.path);
    const sender = await connectMqtt({ url, clientId: 'bench-halt-sender' });
    const runner = new OtaJobRunner({ transport: sender, jobId: 'bench-halt', bundle: v2, devices: devices.map((d) => d.id), policy, blockSize: BLOCK, offerKey: keys.signer });
    const job = await runner.run();
    const haltMs = runner.stats.haltPublishedAt! - runner.stats.thresholdPassedAt!;
    const t0 = performance.now();
    await sender.publish('akb/v1/ota/job/bench-baseline', encodeMessage('ota-job', job), { qos: 1, retain: true });
    const publishMs = performance.now() - t0;
    await sender.publish('akb/v1/ota/job/bench-baseline', '', { qos: 1, retain: true });
    await sender.close();
    return { devices: 10, state: job.state, haltMs, baselineRetainedPublishMs: publishMs, ratio: haltMs / publishMs };
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
}

export async function runFlashOtaBench(): Promise<object> {
  const broker = await startMosquitto();
  const dir = await mkdtemp(join(tmpdir(), 'akb-bench-ota-'));
  try {
    const keys = await makeKeys(dir, 'bench');
    const v1 = await tinyBundle(join(dir, 'v1.akb'), { version: '1.0.0', keys, payloadBytes: 10_000 });
    const throughput: Record<string, object> = {};
    for (const [n, payload] of [[1, 16_000_000], [50, 2_000_000]] as const) {
      const v2 = await tinyBundle(join(dir, `v2-${n}.akb`), { version: '2.0.0', keys, payloadBytes: payload });
      const devices = await Promise.all(Array.from({ length: n }, (_, i) => startDevice({ url: broker.url, id: `bench-${n}-${i}`, keys })));
      try {
        for (const d of devices) await d.agent.install(v1.path);
        const otaS = await otaTransfer(broker.url, keys, v2, devices, `bench-${n}`);
        const rawS = await rawPublish(broker.url, await readFile(v2.path), n);
        const bytes = v2.size * n;
        throughput[`devices${n}`] = {
          bundleBytes: v2.size,
          otaMBps: bytes / otaS / 1e6,
          rawPublishMBps: bytes / rawS / 1e6,
          ratio: rawS / otaS,
        };
      } finally {
        await Promise.all(devices.map((d) => d.close()));
      }
    }
    const v3 = await tinyBundle(join(dir, 'v3.akb'), { version: '3.0.0', keys, payloadBytes: 200_000 });
    return { broker: 'mosquitto', blockSize: BLOCK, window: 16, throughput, halt: await haltFigures(broker.url, keys, v1, v3) };
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await runFlashOtaBench(), null, 2)}\n`);
}
