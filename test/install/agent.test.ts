/**
 * `akb-agent` end to end, on the real disk, against an embedded aedes broker (build first: npx tsc -b).
 * The bundles are real (writeBundle, Ed25519) and so is the health check: each slot's bin/akb-edge runs
 * this checkout's akb-edge --probe with the reference models (slot-bundle.ts). Thrown at it, in order on
 * one install root: a first version (slot A), a second (slot B); a bundle whose model card does not match
 * its model, one whose runtime exits 1, one whose runtime hangs past --health-timeout (each rolled back,
 * the old slot's probe passing again afterwards); an older version (refused, then forced); a bundle signed
 * by a key the board does not trust (refused, nothing changed); a trust folder with no key (boot and
 * install refused, nothing changed).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, topics, type StatusMessage } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { runSlotProbe } from '@akb/edge/install';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { PROFILE_ID, REPO, makeBundle, makeKeys, type SlotVariant, type TestKeys } from './slot-bundle.js';
import { runNode } from '../support/run.js';

const DEVICE = 'cam-install-01';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function agent(args: string[]): Promise<Run> {
  return runNode(['runtime-edge/dist/install/main.js', ...args], { cwd: REPO });
}

let dir: string;
let root: string;
let broker: AedesHandle;
let monitor: AkbMqttClient;
let inbox: Inbox;
let trusted: TestKeys;
let stranger: TestKeys;
const bundles = new Map<string, string>();

async function bundle(label: string, version: string, variant: SlotVariant = 'good', keys = trusted): Promise<string> {
  const out = join(dir, `${label}.akb`);
  await makeBundle(out, { version, variant, keys });
  bundles.set(label, out);
  return out;
}

function install(label: string, ...extra: string[]): Promise<Run> {
  return agent(['install', bundles.get(label)!, '--root', root, '--profile', PROFILE_ID, '--trust', trusted.pub, '--device', DEVICE, '--broker', broker.url, ...extra]);
}

function statuses(): StatusMessage[] {
  return inbox.messages.map((m) => decodeMessage('status', m.payload));
}

interface StateFile {
  active: string | null;
  lastGood: string | null;
  trial: boolean;
  slots: Record<string, { version: string }>;
}

async function state(): Promise<StateFile> {
  return JSON.parse(await readFile(join(root, 'state.json'), 'utf8')) as StateFile;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-agent-'));
  root = join(dir, 'board');
  broker = await startAedes();
  monitor = await connectMqtt({ url: broker.url, clientId: uniqueId('monitor') });
  inbox = await Inbox.open(monitor, topics.status(DEVICE));
  trusted = await makeKeys(dir, 'release');
  stranger = await makeKeys(dir, 'stranger');
  await bundle('v1', '1.0.0');
  await bundle('v2', '2.0.0');
  await bundle('card', '3.0.0', 'card-mismatch');
  await bundle('exit', '3.0.1', 'exit-1');
  await bundle('hang', '3.0.2', 'hang');
  await bundle('old', '0.9.0');
  await bundle('untrusted', '9.0.0', 'good', stranger);
}, 120_000);

afterAll(async () => {
  await monitor?.close();
  await broker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('akb-agent install', () => {
  it('installs a first version into slot A: probe birth names bundle and slot, every phase on the status topic', async () => {
    const run = await install('v1');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/committed/);
    expect(await state()).toMatchObject({ active: 'A', lastGood: 'A', trial: false });
    const seen = statuses();
    const birth = seen.find((s) => s.state === 'online');
    expect(birth?.state === 'online' && birth.versions).toMatchObject({ bundle: '1.0.0', slot: 'A' });
    const phases = seen.flatMap((s) => (s.state === 'updating' ? [s.phase] : []));
    expect(phases).toEqual(expect.arrayContaining(['verifying', 'writing', 'switching', 'health-check', 'committed']));
    const committed = seen.find((s) => s.state === 'updating' && s.phase === 'committed');
    expect(committed).toMatchObject({ bundle: { name: 'akb-edge-test', version: '1.0.0' }, slot: 'A' });
    const status = await agent(['status', '--root', root, '--profile', PROFILE_ID, '--json']);
    expect((JSON.parse(status.stdout) as { state: StateFile }).state.slots.A!.version).toBe('1.0.0');
  }, 120_000);

  it('installs the next version into the other slot', async () => {
    inbox.messages.length = 0;
    const run = await install('v2');
    expect(run.code, run.stderr).toBe(0);
    expect(await state()).toMatchObject({ active: 'B', lastGood: 'B' });
    const birth = statuses().find((s) => s.state === 'online');
    expect(birth?.state === 'online' && birth.versions).toMatchObject({ bundle: '2.0.0', slot: 'B' });
  }, 120_000);

  // Thrown: a model card whose SHA-256 is not its model's; a launcher that exits 1; one that sleeps past the limit.
  it.each([
    ['card', []],
    ['exit', []],
    ['hang', ['--health-timeout', '3']],
  ])('rolls a runtime that fails its probe (%s) back to the running slot, whose probe passes again', async (label, extra) => {
    inbox.messages.length = 0;
    const run = await install(label, ...extra);
    expect(run.code).toBe(4);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/rolled back to slot B/);
    expect(await state()).toMatchObject({ active: 'B', lastGood: 'B', trial: false });
    expect(statuses().some((s) => s.state === 'updating' && s.phase === 'rolled-back' && s.slot === 'B')).toBe(true);
    const again = await runSlotProbe(join(root, 'slot-b'), { deviceId: DEVICE, brokerUrl: broker.url });
    expect(again).toMatchObject({ ok: true });
  }, 120_000);

  // Thrown: version 0.9.0 while 2.0.0 runs.
  it('refuses a downgrade with one line, then installs it when forced', async () => {
    const refused = await install('old');
    expect(refused.code).toBe(3);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/refused/);
    expect(await state()).toMatchObject({ active: 'B' });
    const forced = await install('old', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await state()).toMatchObject({ active: 'A', lastGood: 'A' });
    expect((await state()).slots.A!.version).toBe('0.9.0');
  }, 120_000);

  // Thrown: boot and install with a trust folder holding no key (boot would otherwise deactivate every slot).
  it('refuses to boot or install with no trusted key, leaving the slots as they were', async () => {
    const before = await readFile(join(root, 'state.json'));
    const empty = join(dir, 'no-keys');
    await mkdir(empty);
    const boot = await agent(['boot', '--root', root, '--profile', PROFILE_ID, '--trust', empty]);
    expect(boot.code).toBe(1);
    expect(boot.stderr.trim().split('\n')).toEqual([expect.stringMatching(/no trusted keys/)]);
    const run = await agent(['install', bundles.get('v2')!, '--root', root, '--profile', PROFILE_ID, '--trust', empty, '--device', DEVICE, '--broker', broker.url]);
    expect(run.code).toBe(1);
    expect(await readFile(join(root, 'state.json'))).toEqual(before);
  });

  // Thrown: a bundle signed by a key not among the trusted ones.
  it('refuses a bundle signed by an untrusted key, leaving everything as it was', async () => {
    const before = await readFile(join(root, 'state.json'));
    const run = await install('untrusted');
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/refused/);
    expect(await readFile(join(root, 'state.json'))).toEqual(before);
  }, 60_000);
});
