/**
 * `akb-cloud --http` as users run it (the built program in a child process) on the embedded broker: the
 * URL on the start line; the page; a device that connects listed with its status, its telemetry stored
 * (SQLite in a temporary folder) and served, its gauges at /metrics; an OTA job state from the broker
 * listed; a bad or taken port refused in one line; the dashboard closed with the service on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import { connectDevice, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { startAedes, testBirth, uniqueId, type AedesHandle } from '../support/index.js';
import { spawnCloud, type CloudProcess } from './support.js';
import { job, telemetry } from './dashboard-fixtures.js';

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

describe('akb-cloud --http', () => {
  let broker: AedesHandle;
  let tool: AkbMqttClient;
  let dir: string;
  const running: CloudProcess[] = [];
  const cloud = (args: string[]): CloudProcess => {
    const c = spawnCloud(args);
    running.push(c);
    return c;
  };
  beforeAll(async () => {
    broker = await startAedes();
    tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
    dir = mkdtempSync(join(tmpdir(), 'akb-dashboard-cli-'));
  });
  afterEach(async () => {
    for (const c of running.splice(0)) await c.kill();
  });
  afterAll(async () => {
    await tool?.close({ force: true });
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the URL on the start line, shows a device, its stored telemetry, metrics and jobs, and closes on SIGTERM', async () => {
    const c = cloud(['--broker', broker.url, '--http', '0', '--db', `sqlite:${join(dir, 'telemetry.sqlite')}`]);
    const line = await c.line(/akb-cloud: watching/, 60_000);
    const url = /; dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1];
    expect(url, line).toBeDefined();
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>akb fleet</title>');

    const id = uniqueId('cam');
    const cam = await connectDevice({ url: broker.url, deviceId: id, birth: testBirth(id) });
    try {
      for (let i = 0; i < 3; i++) await cam.publish(topics.telemetry(id), JSON.stringify(telemetry(id, i, { ts: Date.now() })), { qos: 1 });
      type Fleet = { devices: { device: string; state: string; telemetry: { seq: number } | null }[] };
      await expect
        .poll(async () => (await getJson<Fleet>(`${url!}api/fleet`)).devices.map((d) => [d.device, d.state, d.telemetry?.seq]), { timeout: 10_000 })
        .toEqual([[id, 'online', 2]]);
      // Written in batches (every 250 ms): the three samples come back from SQLite.
      await expect
        .poll(async () => (await getJson<{ rows: { message: { seq: number } }[] }>(`${url!}api/devices/${id}/telemetry?limit=10`)).rows.map((r) => r.message.seq), { timeout: 10_000 })
        .toEqual([0, 1, 2]);
      const metrics = await (await fetch(`${url!}metrics`)).text();
      expect(metrics).toMatch(new RegExp(`akb_device_online\\{device="${id}"\\} 1`));
    } finally {
      await cam.close({ force: true });
    }

    await tool.publish(topics.otaJob('roll-7'), JSON.stringify(job('roll-7', Date.now())), { qos: 1, retain: true });
    await expect
      .poll(async () => (await getJson<{ jobs: { job: string }[] }>(`${url!}api/jobs`)).jobs.map((j) => j.job), { timeout: 10_000 })
      .toEqual(['roll-7']);
    await tool.publish(topics.otaJob('roll-7'), '', { qos: 1, retain: true });
    c.child.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
    await expect(fetch(url!)).rejects.toThrow();
  }, 90_000);

  it('refuses a bad port with a usage line (exit 2) and a taken one in one line (exit 1)', async () => {
    // Thrown at it: port -1, port 70000, a port another process holds.
    for (const port of ['-1', '70000']) {
      const bad = cloud(['--broker', broker.url, '--no-telemetry', '--http', port]);
      const exit = await bad.exited;
      expect(exit.code, port).toBe(2);
      expect(bad.output(), port).toContain('--http must be a TCP port from 0 to 65535');
    }
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as { port: number }).port;
    try {
      const c = cloud(['--broker', broker.url, '--no-telemetry', '--http', String(taken)]);
      const exit = await c.exited;
      expect(exit.code).toBe(1);
      const lines = c.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^akb-cloud: the dashboard cannot listen on 127\\.0\\.0\\.1:${taken}: .*EADDRINUSE`));
    } finally {
      holder.close();
    }
  }, 90_000);
});
