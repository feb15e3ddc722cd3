/**
 * An OTA job over a real broker (aedes and Mosquitto) to 50 simulated devices in one process, each a real
 * InstallAgent on its own install root running 1.0.0, with an injected health check: 10% of them (every
 * tenth) fail the health check of 2.0.0. Canary 10%, waves of 25%, at most 5% failures (2 of 50): the
 * canary and wave 1 lose one device each, wave 2 loses a third and the job halts; wave 2's other failing
 * device was already offered and reports too. The failed devices rolled back to 1.0.0, the others of the
 * waves run 2.0.0, and the devices of waves 3 and 4 were never offered anything (1.0.0, state.json
 * byte-identical). The job's retained state says so to a reader in another connection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeMessage, topics, type OtaJob } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { OtaJobRunner, type BundleInfo } from '@akb/flash';
import { describeBrokers, type BrokerHandle } from '../support/index.js';
import { makeKeys, startDevice, tinyBundle, type Keys, type SimDevice } from './fleet.js';

const N = 50;
const ids = Array.from({ length: N }, (_, i) => `ota-${String(i).padStart(2, '0')}`);
const failing = new Set(ids.filter((_, i) => i % 10 === 0));

describeBrokers('OTA job in waves, 50 devices, 10% failing', (kind) => {
  let broker: BrokerHandle;
  let dir: string;
  let keys: Keys;
  let v2: BundleInfo;
  let devices: SimDevice[] = [];
  let sender: AkbMqttClient;

  beforeAll(async () => {
    broker = await kind.start();
    dir = await mkdtemp(join(tmpdir(), 'akb-ota-waves-'));
    keys = await makeKeys(dir, 'release');
    const v1 = await tinyBundle(join(dir, 'v1.akb'), { version: '1.0.0', keys, payloadBytes: 20_000 });
    v2 = await tinyBundle(join(dir, 'v2.akb'), { version: '2.0.0', keys, payloadBytes: 60_000 });
    devices = await Promise.all(ids.map((id) => startDevice({ url: broker.url, id, keys, window: 2, failing: failing.has(id) ? ['2.0.0'] : [] })));
    for (const d of devices) expect((await d.agent.install(v1.path)).status).toBe('committed');
    sender = await connectMqtt({ url: broker.url, clientId: 'ota-sender' });
  }, 120_000);

  afterAll(async () => {
    await sender?.close();
    await Promise.all(devices.map((d) => d.close()));
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('halts in wave 2, rolls the failed devices back and never offers waves 3 and 4', async () => {
    const before = new Map(await Promise.all(devices.map(async (d) => [d.id, await d.stateBytes()] as const)));
    const runner = new OtaJobRunner({
      transport: sender, jobId: 'rollout-1', bundle: v2, devices: ids, blockSize: 16 * 1024, offerKey: keys.signer,
      policy: { canary: 0.1, wave: 0.25, maxFailures: 0.05 },
    });
    const job = await runner.run();
    expect(job.state).toBe('halted');
    expect(job.wave).toBe(2);
    expect(job.message).toMatch(/3 of 50 devices failed, more than 2/);
    const byId = new Map(job.devices.map((d) => [d.id, d]));
    for (const [i, d] of devices.entries()) {
      const entry = byId.get(d.id)!;
      if (i <= 30 && failing.has(d.id)) {
        expect(entry, d.id).toMatchObject({ phase: 'failed', reason: 'HEALTH_CHECK_FAILED', rolledBack: true });
        expect(await d.version(), d.id).toBe('1.0.0');
      } else if (i <= 30) {
        expect(entry, d.id).toMatchObject({ phase: 'ok', bytes: v2.size });
        expect(await d.version(), d.id).toBe('2.0.0');
      } else {
        expect(entry.phase, d.id).toBe('skipped');
        expect(d.receiver.stats.offers, `${d.id} was offered`).toBe(0);
        expect(await d.stateBytes(), d.id).toBe(before.get(d.id));
      }
    }
    expect(runner.stats.thresholdPassedAt).toBeDefined();

    // Another connection reads the retained state, as `akb deploy status` does.
    const reader = await connectMqtt({ url: broker.url, clientId: 'ota-status-reader' });
    try {
      const got = new Promise<OtaJob>((resolve) => reader.onMessage(topics.otaJob('rollout-1'), (m) => resolve(decodeMessage('ota-job', m.payload))));
      await reader.subscribe(topics.otaJob('rollout-1'), { qos: 1 });
      expect((await got).state).toBe('halted');
    } finally {
      await reader.close();
    }
  }, 120_000);
});
