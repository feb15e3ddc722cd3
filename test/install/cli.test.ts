/**
 * `akb package` → `akb install` through the CLI (build first: npx tsc -b), with bundles packaged for real
 * (generic-x64, --no-node: this machine's node runs them; esbuild-bundled edge and agent, pruned native
 * addons, the akb-k256 models) and the health check starting the slot's own bin/akb-edge --probe. An
 * aedes broker of the test's own serves the probe and carries the status events. Thrown at it: a second
 * version (the other slot), the first one again (a downgrade: refused with one line, exit 3, nothing
 * changed), a key that is not trusted (refused), and a bundle path that does not exist (one line).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { REPO, makeKeys, type TestKeys } from './slot-bundle.js';
import { runNode } from '../support/run.js';

const DEVICE = 'cam-install-cli';

function akb(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(['toolkit/bin/akb.js', ...args], { cwd: REPO });
}

let dir: string;
let broker: AedesHandle;
let monitor: AkbMqttClient;
let inbox: Inbox;
let keys: TestKeys;
let stranger: TestKeys;

async function pack(version: string, key: string): Promise<string> {
  const out = join(dir, `${version}.akb`);
  const run = await akb(['package', '--profile', 'generic-x64', '--set', 'akb-k256', '--key', key, '-o', out, '--no-node', '--version', version]);
  expect(run.code, run.stderr).toBe(0);
  return out;
}

const install = (bundle: string, ...extra: string[]) =>
  akb(['install', bundle, '--root', join(dir, 'board'), '--trust', keys.pub, '--broker', broker.url, '--device', DEVICE, ...extra]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-install-cli-'));
  broker = await startAedes();
  monitor = await connectMqtt({ url: broker.url, clientId: uniqueId('monitor') });
  inbox = await Inbox.open(monitor, topics.status(DEVICE));
  keys = await makeKeys(dir, 'release');
  stranger = await makeKeys(dir, 'stranger');
}, 30_000);

afterAll(async () => {
  await monitor?.close();
  await broker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('akb install', () => {
  it('installs packaged bundles into slot A, then B; the probe births name the bundle and slot', async () => {
    const v1 = await pack('1.0.0', keys.key);
    const v2 = await pack('1.1.0', keys.key);
    const first = await install(v1);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/installed .* into slot A/);
    const second = await install(v2);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/into slot B/);
    const state = JSON.parse(await readFile(join(dir, 'board', 'state.json'), 'utf8')) as { active: string };
    expect(state.active).toBe('B');
    const births = inbox.messages.map((m) => decodeMessage('status', m.payload)).flatMap((s) => (s.state === 'online' ? [s.versions] : []));
    expect(births).toEqual([expect.objectContaining({ bundle: '1.0.0', slot: 'A' }), expect.objectContaining({ bundle: '1.1.0', slot: 'B' })]);

    // Thrown: the older version again, without --force.
    const down = await install(v1);
    expect(down.code).toBe(3);
    expect(down.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^akb: .*refused: .*1\.1\.0/)]);
    expect((JSON.parse(await readFile(join(dir, 'board', 'state.json'), 'utf8')) as { active: string }).active).toBe('B');
  }, 180_000);

  // Thrown: a bundle signed by a key the folder does not trust.
  it('refuses a bundle signed by an untrusted key with one line', async () => {
    const other = await pack('9.0.0', stranger.key);
    const run = await install(other);
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/not among the 1 trusted key/);
  }, 120_000);

  // Thrown: a path where no bundle is.
  it('says in one line that a bundle is missing', async () => {
    const run = await install(join(dir, 'nothing.akb'));
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
