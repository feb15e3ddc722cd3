/**
 * OTA end to end through the CLIs (build first: npx tsc -b), on aedes and Mosquitto: bundles packaged for
 * real (`akb package`, generic-x64, --no-node), 1.0.0 installed with `akb install`, then `akb-agent ota
 * --once` (a real process on the board's root, its health check the new slot's own akb-edge --probe)
 * receives 1.1.0 from `akb deploy` (a real process) and runs it from slot B. Thrown at it afterwards, by
 * OTA: the older 1.0.0 again (a downgrade: refused before a block is fetched, the job halted, exit 4,
 * state.json byte-identical) and 1.2.0 signed by a key the board does not trust (refused the same way);
 * `akb deploy status` of the job from another process; `akb deploy status` of a job that does not exist
 * and `akb deploy --canary 150%` (one line each, no stack trace).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrokers, type BrokerHandle } from '../support/index.js';
import { REPO, makeKeys, type TestKeys } from '../install/slot-bundle.js';
import { runNode } from '../support/run.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[]): Promise<Run> {
  return runNode([script, ...args], { cwd: REPO });
}
const akb = (...args: string[]) => run('toolkit/bin/akb.js', args);
const agent = (...args: string[]) => run('runtime-edge/dist/install/main.js', args);

let dir: string;
let keys: TestKeys;
const bundles: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-ota-cli-'));
  keys = await makeKeys(dir, 'release');
  const stranger = await makeKeys(dir, 'stranger');
  for (const [version, key] of [['1.0.0', keys.key], ['1.1.0', keys.key], ['1.2.0', stranger.key]] as const) {
    const out = join(dir, `${version}.akb`);
    const r = await akb('package', '--profile', 'generic-x64', '--set', 'akb-k256', '--key', key, '-o', out, '--no-node', '--version', version);
    expect(r.code, r.stderr).toBe(0);
    bundles[version] = out;
  }
}, 240_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describeBrokers('akb deploy → akb-agent ota', (kind) => {
  let broker: BrokerHandle;
  let board: string;
  const device = `cam-ota-${kind.name}`;

  beforeAll(async () => {
    broker = await kind.start();
    board = join(dir, `board-${kind.name}`);
    const r = await akb('install', bundles['1.0.0']!, '--root', board, '--trust', keys.pub, '--broker', broker.url, '--device', device);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  afterAll(() => broker?.close());

  const receive = () => agent('ota', '--once', '--root', board, '--profile', 'generic-x64', '--trust', keys.pub, '--broker', broker.url, '--device', device);
  const deploy = (version: string, job: string) => akb('deploy', bundles[version]!, '--broker', broker.url, '--devices', device, '--job', job, '--block-size', '65536', '--fleet-key', keys.key);

  it('installs 1.1.0 over MQTT with the real health check, from slot B', async () => {
    const board$ = receive();
    const sent = await deploy('1.1.0', 'e2e-up');
    const got = await board$;
    expect(sent.code, sent.stderr + sent.stdout).toBe(0);
    expect(got.code, got.stderr + got.stdout).toBe(0);
    expect(sent.stdout).toMatch(new RegExp(`${device}: installed`));
    expect(got.stdout).toMatch(/health-check/);
    const state = JSON.parse(await readFile(join(board, 'state.json'), 'utf8')) as { active: string; slots: Record<string, { version: string }> };
    expect(state.active).toBe('B');
    expect(state.slots.B!.version).toBe('1.1.0');

    const status = await akb('deploy', 'status', 'e2e-up', '--broker', broker.url, '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'completed', devices: [{ id: device, phase: 'ok' }] });
  }, 240_000);

  it('refuses a downgrade and an untrusted key by OTA: the job halts, nothing on the board changes', async () => {
    const before = await readFile(join(board, 'state.json'), 'utf8');
    // Thrown: 1.0.0 while 1.1.0 runs (no --force), then 1.2.0 signed by a key the board does not trust.
    for (const [version, reason] of [['1.0.0', 'DOWNGRADE_REFUSED'], ['1.2.0', 'UNTRUSTED_KEY']] as const) {
      const board$ = receive();
      const sent = await deploy(version, `e2e-${version.replace(/\./g, '-')}`);
      const got = await board$;
      expect(sent.code, sent.stdout).toBe(4);
      expect(sent.stderr.trim().split('\n')).toHaveLength(1);
      expect(sent.stdout).toContain(reason);
      expect(got.code).toBe(4);
      expect(await readFile(join(board, 'state.json'), 'utf8')).toBe(before);
    }
  }, 240_000);

  it('says in one line that a job does not exist, or that a share is not one', async () => {
    // Thrown: a job id nobody ran; a canary share of 150%.
    const none = await akb('deploy', 'status', 'no-such-job', '--broker', broker.url, '--wait', '0.5');
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/no state of job no-such-job/);
    const share = await akb('deploy', bundles['1.1.0']!, '--broker', broker.url, '--devices', device, '--canary', '150%', '--fleet-key', keys.key);
    expect(share.code).toBe(2);
    expect(share.stderr.trim().split('\n')).toHaveLength(1);
    expect(share.stderr).toMatch(/--canary "150%"/);
  }, 60_000);
});
