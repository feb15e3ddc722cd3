/**
 * akb-cloud as users run it (the built program, a child process) with `--db` on a temp SQLite file: what a
 * simulated device publishes through a real broker is stored (read back with `telemetry.query` while it
 * runs, and from the file after it stopped), a low PSNR raises a retained alarm, and bad telemetry flags
 * are refused in one line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, topics } from '@akb/protocol';
import { RpcClient, connectDevice, type AkbMqttClient } from '@akb/protocol/mqtt';
import { Inbox, availableBrokerKinds, testBirth, uniqueId, type BrokerHandle } from '../support/index.js';
import { spawnCloud, type CloudProcess } from '../cloud/support.js';
import { SqliteTelemetryStore } from '../../runtime-cloud/src/telemetry/sqlite-store.js';
import type { TelemetryQueryPage } from '../../runtime-cloud/src/telemetry/query-op.js';
import { sample } from './fixtures.js';
import { clearRetained, connect, publishSample, until } from './harness.js';
import { PG_BASE, dropSchema, freshSchema, postgresAvailable } from './postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'akb-cloud-telemetry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(availableBrokerKinds())('akb-cloud --db sqlite on $name', (kind) => {
  let broker: BrokerHandle;
  let tool: AkbMqttClient;
  beforeAll(async () => {
    broker = await kind.start();
    tool = await connect(broker.url, 'tool');
  });
  afterAll(async () => {
    await tool.close({ force: true });
    await broker.close();
  });

  it('stores what a device publishes, answers telemetry.query, publishes a retained alarm, and leaves it all in the file', async () => {
    const db = join(dir, `${kind.name}.sqlite`);
    const cam = `cam-${kind.name}-${process.pid}`;
    const cloud: CloudProcess = spawnCloud(['--broker', broker.url, '--client-id', uniqueId('cloud'), '--db', `sqlite:${db}`, '--alarm-psnr', '20']);
    let device: AkbMqttClient | undefined;
    try {
      await cloud.line(new RegExp(`telemetry in ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 20_000);
      const alarms = await Inbox.open(tool, topics.alarm(cam));
      device = await connectDevice({ url: broker.url, deviceId: cam, birth: testBirth(cam) });
      const ops = new RpcClient(tool, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes('ops-tele'), timeoutMs: 3000 });
      await tool.subscribe(topics.cloudRes('ops-tele'), { qos: 1 });
      // The birth must be seen before telemetry counts (unknown devices are refused): wait for it through the API.
      await until(() => ops.request<{ device: string }[]>('fleet.list'), (l) => l.some((e) => e.device === cam), 'the device in the fleet');
      for (let i = 0; i < 5; i++) await publishSample(device, sample(cam, i, { quality: { psnr: i < 4 ? 30 : 12 } }));
      const page = await until(
        () => ops.request<TelemetryQueryPage>('telemetry.query', { device: cam }),
        (p) => p.rows.length === 5,
        'five rows stored',
      );
      expect(page.rows.map((r) => (r.message as { seq: number }).seq)).toEqual([0, 1, 2, 3, 4]);
      expect(page.truncated).toBe(false);
      await expect(ops.request('telemetry.query', { device: 'a/b' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      const [alarm] = await alarms.waitFor(1);
      expect(decodeMessage('alarm', alarm!.payload).active).toMatchObject([{ kind: 'link-quality', value: 12, threshold: 20 }]);
      const stats = await ops.request<{ telemetry: { samples: number; store: string } }>('cloud.stats');
      expect(stats.telemetry).toMatchObject({ samples: 5, store: db });
    } finally {
      // The cloud first: a device gone before it would be a death by will, i.e. a `silent` alarm.
      cloud.child.kill('SIGTERM');
      await cloud.exited;
      await device?.close({ force: true });
      await clearRetained(tool, [cam]);
    }
    // A clean stop: exit 0, and the last rows flushed into the file before it (read below).
    expect((await cloud.exited).code).toBe(0);
    const store = await SqliteTelemetryStore.open(db);
    try {
      expect(await store.telemetry({ device: cam })).toHaveLength(5);
      expect((await store.status({ device: cam })).map((r) => r.message.state)).toContain('online');
      expect((await store.alarms({ device: cam })).map((r) => r.message.active.map((a) => a.kind))).toEqual([['link-quality']]);
    } finally {
      await store.close();
    }
  });
});

const pgUp = await postgresAvailable();

describe.skipIf(!pgUp)('akb-cloud --db postgres', () => {
  it('stores into its own schema and never prints the password', async () => {
    const broker = await availableBrokerKinds()[0]!.start();
    const tool = await connect(broker.url, 'tool');
    const schema = freshSchema();
    const url = `${PG_BASE.replace('postgres@', 'postgres:hunter2@')}?schema=${schema}`;
    const cloud = spawnCloud(['--broker', broker.url, '--client-id', uniqueId('cloud'), '--db', url]);
    const cam = `cam-pg-${process.pid}`;
    let device: AkbMqttClient | undefined;
    try {
      const line = await cloud.line(/telemetry in postgres:/, 20_000);
      expect(line).toContain(`telemetry in postgres://postgres@127.0.0.1:5432/test?schema=${schema}`);
      device = await connectDevice({ url: broker.url, deviceId: cam, birth: testBirth(cam) });
      const ops = new RpcClient(tool, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes('ops-pg'), timeoutMs: 3000 });
      await tool.subscribe(topics.cloudRes('ops-pg'), { qos: 1 });
      await until(() => ops.request<{ device: string }[]>('fleet.list'), (l) => l.some((e) => e.device === cam), 'the device in the fleet');
      for (let i = 0; i < 3; i++) await publishSample(device, sample(cam, i));
      const page = await until(() => ops.request<TelemetryQueryPage>('telemetry.query', { device: cam }), (p) => p.rows.length === 3, 'three rows stored');
      expect(page.rows.map((r) => (r.message as { seq: number }).seq)).toEqual([0, 1, 2]);
    } finally {
      cloud.child.kill('SIGTERM');
      await cloud.exited;
      await device?.close({ force: true });
      await clearRetained(tool, [cam]);
      await tool.close({ force: true });
      await broker.close();
      await dropSchema(schema);
    }
    expect(cloud.output()).not.toContain('hunter2');
  });
});

describe('akb-cloud telemetry flags', () => {
  it.each([
    [['--retention', '0d'], /--retention: "0d" is not a duration/],
    [['--db', 'mysql://u:pw@h/db'], /--db: mysql:\/\/ is not a supported store/],
    [['--alarm-psnr', '-3'], /--alarm-psnr must be a number from 0 to 200/],
    [['--no-telemetry', '--db', 'x.sqlite'], /--db and --no-telemetry contradict each other/],
  ])('refuses %j in one line', async (args, re) => {
    const cloud = spawnCloud(['--broker', 'mqtt://127.0.0.1:1', ...args]);
    const exit = await cloud.exited;
    const lines = cloud.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
    expect(exit.code).not.toBe(0);
    expect(cloud.output()).not.toContain('pw@');
  });
});
