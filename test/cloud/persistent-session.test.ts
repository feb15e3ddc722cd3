/**
 * `akb-cloud --persistent-session`: with clean session off, what devices publish at QoS 1 while akb-cloud
 * is stopped, and while the broker is killed (SIGKILL) and started again, still reaches its telemetry store
 * once it is back. Thrown at it: akb-cloud stopped for the middle of a device's samples, then Mosquitto (with
 * persistence) killed and restarted. The control run without the flag loses those samples, so the test can
 * fail. And `--persistent-session` without `--client-id` is refused (exit 2, one line).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/src/index.js';
import { connectMqtt, type AkbMqttClient } from '../../protocol/src/mqtt/index.js';
import { startMosquitto, type MosquittoHandle } from '../support/mosquitto.js';
import { requireProgram } from '../support/programs.js';
import { runNode } from '../support/run.js';
import { CLOUD_BIN, spawnCloud, type CloudProcess } from './support.js';

const hasMosquitto = requireProgram('mosquitto', 'mosquitto');

function sample(device: string, seq: number): string {
  return JSON.stringify({ v: 1, device, ts: Date.now(), seq, latencyMs: {}, snrDb: 5, cpuPercent: 10, memoryRssBytes: 1 << 26, counters: { framesSent: 0, framesDropped: 0, framesMalformed: 0 } });
}

function storedSeqs(db: string, device: string): number[] {
  const d = new Database(db, { readonly: true });
  try {
    const rows = d.prepare("SELECT DISTINCT json_extract(message, '$.seq') AS seq FROM telemetry WHERE device = ? ORDER BY seq").all(device) as { seq: number }[];
    return rows.map((r) => r.seq);
  } finally {
    d.close();
  }
}

async function until(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!hasMosquitto)('akb-cloud --persistent-session', () => {
  let dir: string;
  let broker: MosquittoHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-persist-'));
    broker = await startMosquitto({ persistence: true, extraConfig: 'max_queued_messages 0' });
  });
  afterAll(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Samples 0-4 with akb-cloud up, 5-9 while it is stopped and the broker is killed and restarted, 10-14 after. */
  async function scenario(name: string, persistent: boolean): Promise<number[]> {
    const db = join(dir, `${name}.sqlite`);
    const device = `persist-${name}`;
    const args = ['--broker', broker.url, '--client-id', `cloud-${name}`, ...(persistent ? ['--persistent-session'] : []), '--db', `sqlite:${db}`, '--accept-unknown'];
    let cloud: CloudProcess = spawnCloud(args);
    const edge: AkbMqttClient = await connectMqtt({ url: broker.url, clientId: device, reconnectPeriodMs: 200 });
    try {
      await cloud.line(/akb-cloud: watching/, 30_000);
      for (let seq = 0; seq < 5; seq++) await edge.publish(topics.telemetry(device), sample(device, seq), { qos: 1 });
      await until(() => storedSeqs(db, device).length === 5, 'samples 0-4 stored');
      cloud.child.kill('SIGTERM');
      await cloud.exited;
      for (let seq = 5; seq < 10; seq++) await edge.publish(topics.telemetry(device), sample(device, seq), { qos: 1 });
      // The broker saves its state on SIGTERM; make sure 5-9 are on disk before the SIGKILL.
      await broker.restart({ signal: 'SIGTERM' });
      await broker.restart({ signal: 'SIGKILL', downMs: 300 });
      await until(() => edge.connectedNow, 'the device reconnected');
      cloud = spawnCloud(args);
      await cloud.line(/akb-cloud: watching/, 30_000);
      for (let seq = 10; seq < 15; seq++) await edge.publish(topics.telemetry(device), sample(device, seq), { qos: 1 });
      await until(() => storedSeqs(db, device).includes(14), 'sample 14 stored');
      await new Promise((r) => setTimeout(r, 1000)); // anything queued lands
      return storedSeqs(db, device);
    } finally {
      await edge.close({ force: true });
      cloud.child.kill('SIGTERM');
      await cloud.exited;
    }
  }

  it('stores what was published while it and the broker were down', async () => {
    expect(await scenario('on', true)).toEqual(Array.from({ length: 15 }, (_, i) => i));
  }, 120_000);

  it('without the flag, those samples are lost (the control)', async () => {
    const seqs = await scenario('off', false);
    expect(seqs.filter((s) => s >= 5 && s < 10)).toEqual([]);
    expect(seqs).toContain(14);
  }, 120_000);

  it('refuses --persistent-session without --client-id', async () => {
    const r = await runNode([CLOUD_BIN, '--persistent-session', '--no-telemetry']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--persistent-session needs --client-id/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
