/**
 * `akb deploy --devices profile=<id>` (a process; build first: npx tsc -b) on aedes and Mosquitto: the
 * devices are chosen from the retained statuses, online ones of that profile only. Two simulated
 * generic-x64 devices with births are chosen and installed; an rpi-5 board and a generic-x64 device whose
 * status is a death are left out. Thrown at it: a profile no device runs, a device id with a space; each
 * one line on stderr and a non-zero exit, nothing offered.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import { connectMqtt } from '@akb/protocol/mqtt';
import { describeBrokers, type BrokerHandle } from '../support/index.js';
import { REPO } from '../install/slot-bundle.js';
import { PROFILE, makeKeys, startDevice, tinyBundle, type SimDevice } from './fleet.js';
import { runNode } from '../support/run.js';

function akb(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(['toolkit/bin/akb.js', ...args], { cwd: REPO });
}

const birth = (device: string, profile: string) => ({
  v: 1, device, session: 1, ts: Date.now(), state: 'online', profile, bootTime: Date.now(),
  versions: { runtime: '0.1.0', protocol: '1.1', models: [], kb: null }, capabilities: ['ota', 'proto:1.1'],
});

describeBrokers('akb deploy --devices profile=<id>', (kind) => {
  let broker: BrokerHandle;
  let dir: string;
  let devices: SimDevice[] = [];
  let bundle: string;
  let keyFile: string;

  beforeAll(async () => {
    broker = await kind.start();
    dir = await mkdtemp(join(tmpdir(), 'akb-ota-select-'));
    const keys = await makeKeys(dir, 'release');
    keyFile = keys.key;
    bundle = (await tinyBundle(join(dir, 'v1.akb'), { version: '1.0.0', keys, payloadBytes: 50_000 })).path;
    devices = await Promise.all(['sel-1', 'sel-2'].map((id) => startDevice({ url: broker.url, id, keys })));
    const c = await connectMqtt({ url: broker.url, clientId: 'ota-select-births' });
    for (const [id, profile] of [['sel-1', PROFILE], ['sel-2', PROFILE], ['sel-pi', 'rpi-5']] as const) {
      await c.publish(topics.status(id), JSON.stringify(birth(id, profile)), { qos: 1, retain: true });
    }
    await c.publish(topics.status('sel-gone'), JSON.stringify({ v: 1, device: 'sel-gone', session: 1, ts: Date.now(), state: 'offline', reason: 'will' }), { qos: 1, retain: true });
    await c.close();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('deploys to the online devices of the profile only', async () => {
    const r = await akb('deploy', bundle, '--broker', broker.url, '--devices', `profile=${PROFILE}`, '--canary', '0%', '--job', 'select-1', '--fleet-key', keyFile);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/to 2 device\(s\)/);
    for (const d of devices) expect(await d.version(), d.id).toBe('1.0.0');
  }, 60_000);

  it('says in one line when nothing matches or an id is not one', async () => {
    // Thrown: a profile no online device runs; a device id with a space in it.
    for (const spec of ['profile=jetson-orin-nano', 'sel-1,bad id']) {
      const r = await akb('deploy', bundle, '--broker', broker.url, '--devices', spec, '--job', 'select-2', '--fleet-key', keyFile);
      expect(r.code, spec).not.toBe(0);
      expect(r.stderr.trim().split('\n'), spec).toHaveLength(1);
    }
    for (const d of devices) expect(d.receiver.stats.results.map((r) => r.transfer), d.id).toEqual(['select-1']);
  }, 60_000);
});
