/**
 * `akb deploy abort` and `akb deploy status` as processes (build first: npx tsc -b) against a job run in
 * this process, on aedes and Mosquitto: three waves of one device each; while the first device is still
 * downloading (1 KiB blocks one at a time; its receiver stopped until the abort is through), another
 * process aborts the job. The first device resumes, finishes and installs, the other two are never offered anything, the job ends "aborted", status says so, and a
 * second abort is refused in one line (exit 3) because the job is no longer running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { OtaJobRunner } from '@akb/flash';
import { describeBrokers, type BrokerHandle } from '../support/index.js';
import { REPO } from '../install/slot-bundle.js';
import { makeKeys, startDevice, tinyBundle, type SimDevice } from './fleet.js';
import { runNode } from '../support/run.js';

function akb(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(['toolkit/bin/akb.js', ...args], { cwd: REPO });
}

describeBrokers('akb deploy abort', (kind) => {
  let broker: BrokerHandle;
  let dir: string;
  let sender: AkbMqttClient;
  let devices: SimDevice[] = [];

  beforeAll(async () => {
    broker = await kind.start();
    dir = await mkdtemp(join(tmpdir(), 'akb-ota-abort-'));
    sender = await connectMqtt({ url: broker.url, clientId: 'ota-abort-sender' });
  }, 60_000);

  afterAll(async () => {
    await sender?.close();
    await Promise.all(devices.map((d) => d.close()));
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stops offering; the device already offered finishes; the job ends aborted', async () => {
    const keys = await makeKeys(dir, 'release');
    const v2 = await tinyBundle(join(dir, 'v2.akb'), { version: '2.0.0', keys, payloadBytes: 3_000_000 });
    devices = await Promise.all(['abt-1', 'abt-2', 'abt-3'].map((id) => startDevice({ url: broker.url, id, keys, window: 1 })));
    const runner = new OtaJobRunner({ transport: sender, jobId: 'abort-1', bundle: v2, devices: devices.map((d) => d.id), policy: { canary: 0, wave: 0.34, maxFailures: 0 }, blockSize: 1024, offerKey: keys.signer });
    const done = runner.run();
    const first = devices[0]!;
    while (first.receiver.stats.blocks < 10) await new Promise((r) => setTimeout(r, 10));
    // The first device stops mid-transfer until the abort is through, so its wave cannot end before.
    await first.receiver.close();
    const abort = await akb('deploy', 'abort', 'abort-1', '--broker', broker.url, '--reason', 'wrong bundle');
    expect(abort.code, abort.stderr).toBe(0);
    while (runner.state().state !== 'aborted') await new Promise((r) => setTimeout(r, 10));
    await first.restart();
    const job = await done;
    expect(job.state).toBe('aborted');
    expect(job.message).toBe('wrong bundle');
    expect(job.devices.map((d) => d.phase)).toEqual(['ok', 'skipped', 'skipped']);
    expect(await first.version()).toBe('2.0.0');
    for (const d of devices.slice(1)) {
      expect(d.receiver.stats.offers, d.id).toBe(0);
      expect(await d.version(), d.id).toBeNull();
    }

    const status = await akb('deploy', 'status', 'abort-1', '--broker', broker.url);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/job abort-1: aborted/);
    // Thrown: an abort of a job that has ended.
    const again = await akb('deploy', 'abort', 'abort-1', '--broker', broker.url);
    expect(again.code).toBe(3);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/aborted already/);
  }, 120_000);
});
