/**
 * Serial flashing end to end over real pseudo-terminals: `akb-agent receive` (this checkout's built agent)
 * on one socat pty pair, `akb flash --json` on another, and test/support/line-relay.ts between them pacing
 * both directions to 2 Mbaud (8N1) and injecting faults. The bundles are real (test/install/slot-bundle.ts:
 * generic-x64, no Node.js inside, the akb-k256 models) and the health check is the real one (the slot's
 * akb-edge --probe against an aedes broker of the test's own). Build first: npx tsc -b.
 * Thrown at it: byte errors at 1e-4 and dropped bytes at 1e-5; akb flash killed mid-transfer and run
 * again; the line cut for 3 s mid-transfer; the agent killed mid-transfer and restarted (it resumes from
 * its persisted offset); a downgrade and a bundle signed by an untrusted key (refused, state.json and the
 * running slot byte-identical). Counts are printed for the closing note.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineRelay } from '../support/line-relay.js';
import { startAedes, type AedesHandle } from '../support/index.js';
import { REPO, makeBundle, makeKeys, type TestKeys } from '../install/slot-bundle.js';

const BAUD = 2_000_000;
const DEVICE = 'cam-serial';

interface Run {
  child: ChildProcess;
  stdout: () => string;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function start(cmd: string, args: string[]): Run {
  const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, stdout: () => stdout, done };
}

let dir: string;
let broker: AedesHandle;
let relay: LineRelay;
let keys: TestKeys;
let stranger: TestKeys;
const bundles: Record<string, string> = {};

const agent = (): Run =>
  start(join(REPO, 'runtime-edge/bin/akb-agent'), ['receive', '--port', relay.boardPath, '--baud', String(BAUD), '--root', join(dir, 'root'), '--profile', 'generic-x64', '--trust', keys.pub, '--broker', broker.url, '--device', DEVICE, '--data', join(dir, 'data')]);
const flash = (bundle: string): Run => start(process.execPath, ['toolkit/bin/akb.js', 'flash', '--port', relay.hostPath, '--baud', String(BAUD), '--json', bundle]);

interface Line { event: string; acked?: number; size?: number; status?: string; resumedFrom?: number; retransmissions?: number; frames?: number; naks?: number; timeouts?: number; badFrames?: number; code?: string }
const lines = (stdout: string): Line[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
const resultOf = (stdout: string): Line | undefined => lines(stdout).find((l) => l.event === 'result');

/** Resolves once `run` has printed a progress line past `share` of the bundle. */
async function past(run: Run, share: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (lines(run.stdout()).some((l) => l.event === 'progress' && (l.acked ?? 0) > share * (l.size ?? Infinity))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no progress past ${share}: ${run.stdout()}`);
}

/** state.json and every file of the slots, hashed: what "nothing changed" compares. */
async function boardDigest(): Promise<string> {
  const h = createHash('sha256');
  const root = join(dir, 'root');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) h.update(p).update(await readFile(p));
    }
  };
  await walk(root);
  return h.digest('hex');
}

const stateOf = async (): Promise<{ active: string; lastGood: string }> => JSON.parse(await readFile(join(dir, 'root', 'state.json'), 'utf8')) as { active: string; lastGood: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-serial-'));
  broker = await startAedes();
  relay = await LineRelay.start({ baud: BAUD, dir, seed: 7 });
  keys = await makeKeys(dir, 'release');
  stranger = await makeKeys(dir, 'stranger');
  for (const v of ['1.0.0', '1.1.0', '1.2.0']) {
    bundles[v] = join(dir, `${v}.akb`);
    await makeBundle(bundles[v], { version: v, keys });
  }
  bundles.stranger = join(dir, 'stranger.akb');
  await makeBundle(bundles.stranger, { version: '9.0.0', keys: stranger });
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await broker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('akb flash → akb-agent receive over ptys', () => {
  // Thrown: every byte corrupted with probability 1e-4 and dropped with 1e-5, both ways.
  it('installs a real bundle through byte errors and dropped bytes, with its real health check', async () => {
    Object.assign(relay.faults, { byteErrorRate: 1e-4, dropRate: 1e-5 });
    const rx = agent();
    const tx = flash(bundles['1.0.0']!);
    const [sent, received] = await Promise.all([tx.done, rx.done]);
    Object.assign(relay.faults, { byteErrorRate: 0, dropRate: 0 });
    const result = resultOf(sent.stdout);
    console.log('serial faults:', JSON.stringify({ result, relay: relay.counts }));
    expect(sent.code, sent.stderr).toBe(0);
    expect(received.code, received.stderr).toBe(0);
    expect(result).toEqual(expect.objectContaining({ status: 'committed' }));
    expect(relay.counts.corrupted + relay.counts.dropped).toBeGreaterThan(0);
    expect((await stateOf()).active).toBe('A');
  }, 180_000);

  // Thrown: akb flash killed at 30 %, run again (it resumes); then the line cut for 3 s at 60 %.
  it('resumes after the sender is killed and after the line is cut', async () => {
    const rx = agent();
    const first = flash(bundles['1.1.0']!);
    await past(first, 0.3);
    first.child.kill('SIGKILL');
    await first.done;
    const second = flash(bundles['1.1.0']!);
    await past(second, 0.6);
    relay.cut(3000);
    const [sent, received] = await Promise.all([second.done, rx.done]);
    const result = resultOf(sent.stdout);
    console.log('serial resume:', JSON.stringify(result));
    expect(sent.code, sent.stderr).toBe(0);
    expect(received.code, received.stderr).toBe(0);
    expect(result?.resumedFrom).toBeGreaterThan(0);
    expect(result?.timeouts).toBeGreaterThan(0);
    expect(await stateOf()).toEqual(expect.objectContaining({ active: 'B', lastGood: 'B' }));
  }, 180_000);

  // Thrown: the agent killed (SIGKILL) at 40 % and started again: it resumes from its persisted offset.
  it('resumes from the offset a killed agent persisted', async () => {
    const first = agent();
    const tx = flash(bundles['1.2.0']!);
    await past(tx, 0.4);
    first.child.kill('SIGKILL');
    await first.done;
    const second = agent();
    const [sent, received] = await Promise.all([tx.done, second.done]);
    console.log('serial agent restart:', JSON.stringify(resultOf(sent.stdout)), received.stdout.match(/resuming .*/u)?.[0]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(received.code, received.stderr).toBe(0);
    const resumedAt = Number(/resuming \w+ at (\d+) of/u.exec(received.stdout)?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect((await stateOf()).active).toBe('A');
  }, 180_000);

  // Thrown: 1.0.0 again (older than the running 1.2.0), then a bundle signed by a key the board does not trust.
  it('refuses a downgrade and an untrusted signature with nothing changed', async () => {
    for (const [bundle, pattern] of [[bundles['1.0.0']!, /older|1\.2\.0/u], [bundles.stranger!, /trusted key/u]] as const) {
      const before = await boardDigest();
      const rx = agent();
      const tx = flash(bundle);
      const [sent, received] = await Promise.all([tx.done, rx.done]);
      expect(sent.code).toBe(3);
      expect(received.code).toBe(3);
      expect(sent.stderr.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
      expect(await boardDigest()).toBe(before);
    }
  }, 180_000);
});
