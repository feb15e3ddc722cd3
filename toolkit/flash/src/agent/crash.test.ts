/**
 * The agent is crash-safe at every instant. On CrashFs (a model of the page cache: only fsynced file data
 * and fsynced folder entries survive), a board runs v1; an install of v2 is cut after a random operation
 * k; the power cut drops everything not durable; a fresh agent boots; the board must then hold a bootable
 * active slot (signature and every file's size and SHA-256 as its stored manifest says, `current` pointing
 * at it, not on trial), running v1 or v2, and take a further install.
 *
 * 200 seeded cut points (AKB_CRASH_SEED to replay; the seed is printed): even ones anywhere in the install,
 * odd ones from the switch on (the few changes that matter most are there, after hundreds of writes).
 * Three of four cuts fall in an install whose health check passes, the fourth in one whose health check
 * fails (so the rollback itself is cut). Half of the cuts drop everything not durable, and then v2 must run exactly when the cut came after
 * the commit's fsync; the other half let each file and folder keep its unsynced state at random (some
 * write-back happened). Every third boot is itself cut, crashed and booted again. Cuts inside a health
 * check are tested apart: boot rolls the trial back to the last known good.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ed25519, tempDir } from '../../test/craft.js';
import { makeBundle, seededRandom } from '../../test/agent-fixtures.js';
import { InstallAgent, type HealthCheck } from './agent.js';
import { CrashFs, PowerCut } from './crash-fs.js';
import { readCurrent } from './state.js';
import { verifySlot } from './verify-slot.js';

const ROOT = '/opt/akb';
const signer = ed25519('crash-test');
const bundles: Record<string, string> = {};
const healthy: HealthCheck = () => Promise.resolve({ ok: true });
const sick: HealthCheck = () => Promise.resolve({ ok: false, reason: 'probe image not encoded' });
const seed = Number(process.env.AKB_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

beforeAll(async () => {
  const dir = tempDir('crash');
  for (const v of ['1.0.0', '2.0.0', '3.0.0']) bundles[v] = await makeBundle(dir, signer.key, v);
});

function agentOn(fs: CrashFs, healthCheck: HealthCheck = healthy): InstallAgent {
  // after a power cut the process that held a surviving lock is gone
  return new InstallAgent({ root: ROOT, profile: 'rpi-5', fs, trustedKeys: [signer.trusted], healthCheck, lockHolderAlive: () => false });
}

/** A board running v1, everything durable. */
async function boardOnV1(): Promise<CrashFs> {
  const fs = new CrashFs();
  await fs.mkdir('/opt');
  await fs.syncDir('/');
  expect((await agentOn(fs).install(bundles['1.0.0'] as string)).status).toBe('committed');
  return fs;
}

/** Runs `step` until the power cut (or to its end); anything thrown other than the cut is a failure. */
async function untilCut(fs: CrashFs, step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (e) {
    if (!(e instanceof PowerCut) || !fs.isCut) throw e;
  }
}

/** Boots and checks the board holds a bootable active slot; returns its version. */
async function bootAndCheck(fs: CrashFs, rng: () => number, cutBoot: boolean): Promise<string> {
  if (cutBoot) {
    fs.cutAfter(Math.floor(rng() * 12));
    await untilCut(fs, () => agentOn(fs).boot());
    if (fs.isCut) fs.crash(rng() < 0.5 ? rng : undefined);
    fs.cutAfter(undefined);
  }
  const agent = agentOn(fs);
  const boot = await agent.boot();
  const state = await agent.state();
  expect(state.trial).toBe(false);
  expect(boot.active).not.toBeNull();
  const active = state.active;
  if (active === null) throw new Error(`no active slot after boot: ${boot.message}`);
  expect(await readCurrent(fs, ROOT)).toBe(active);
  const verdict = await verifySlot(fs, agent.slotDir(active), [signer.trusted]);
  if (!verdict.ok) throw new Error(`slot ${active} is not bootable: ${verdict.reason}`);
  expect(verdict.manifestSha256).toBe(state.slots[active]?.manifestSha256);
  return verdict.manifest.version;
}

/** Changes an uncut install of v2 makes, and how many of them precede the durable commit. */
async function measure(health: HealthCheck): Promise<{ total: number; switchAt: number; commitAt: number }> {
  const fs = await boardOnV1();
  const start = fs.ops;
  let commitAt = Infinity;
  let switchAt = 0;
  const agent = new InstallAgent({
    root: ROOT,
    profile: 'rpi-5',
    fs,
    trustedKeys: [signer.trusted],
    healthCheck: health,
    onEvent: (e) => {
      if (e.phase === 'committed') commitAt = fs.ops - start;
      if (e.phase === 'switching') switchAt = fs.ops - start;
    },
  });
  await agent.install(bundles['2.0.0'] as string);
  return { total: fs.ops - start, switchAt, commitAt };
}

describe('install agent under power cuts', () => {
  it('ends on a bootable slot at each of 200 random cut points', async () => {
    console.log(`crash test seed ${seed} (AKB_CRASH_SEED=${seed} replays it)`);
    const rng = seededRandom(seed);
    const runs = { ok: await measure(healthy), failing: await measure(sick) };
    expect(runs.ok.commitAt).toBeLessThanOrEqual(runs.ok.total);
    const seen = { v1: 0, v2: 0 };
    for (let i = 0; i < 200; i++) {
      const failing = i % 4 === 3;
      const run = failing ? runs.failing : runs.ok;
      // even cuts anywhere in the install; odd ones from the switch on, where the few delicate changes are
      const from = i % 2 === 0 ? 0 : run.switchAt;
      const k = from + Math.floor(rng() * (run.total - from + 1));
      const writeBack = i % 4 === 1 || i % 4 === 2;
      const fs = await boardOnV1();
      fs.cutAfter(k);
      await untilCut(fs, () => agentOn(fs, failing ? sick : healthy).install(bundles['2.0.0'] as string));
      fs.crash(writeBack ? rng : undefined);
      const where = `cut ${i} at change ${k}/${run.total} (${failing ? 'failing' : 'passing'} health check, ${writeBack ? 'random write-back' : 'nothing unsynced kept'}, seed ${seed})`;
      const version = await bootAndCheck(fs, rng, i % 3 === 2).catch((e: unknown) => {
        throw new Error(`${where}: ${(e as Error).message}`);
      });
      expect([`1.0.0`, `2.0.0`], where).toContain(version);
      if (failing) expect(version, where).toBe('1.0.0');
      else if (!writeBack) expect(version, where).toBe(k >= run.commitAt ? '2.0.0' : '1.0.0');
      seen[version === '1.0.0' ? 'v1' : 'v2']++;
      // the recovered board takes the next install
      expect((await agentOn(fs).install(bundles['3.0.0'] as string)).status, where).toBe('committed');
    }
    console.log(`crash test: ${seen.v1} cuts ended on v1, ${seen.v2} on v2`);
    expect(seen.v1).toBeGreaterThan(0);
    expect(seen.v2).toBeGreaterThan(0);
  }, 120_000);

  it('a cut during the health check is rolled back to the last known good at boot', async () => {
    for (const writeBack of [false, true]) {
      const fs = await boardOnV1();
      const rng = seededRandom(seed + 1);
      const cutting: HealthCheck = () => {
        fs.cutAfter(0);
        return Promise.reject(new PowerCut(fs.ops));
      };
      await untilCut(fs, () => agentOn(fs, cutting).install(bundles['2.0.0'] as string));
      expect(fs.isCut).toBe(true);
      fs.crash(writeBack ? rng : undefined);
      const agent = agentOn(fs);
      const boot = await agent.boot();
      expect(boot).toMatchObject({ active: 'A', recovered: true });
      expect(boot.message).toMatch(/slot B was on trial .* rolled back to A/);
      expect(await bootAndCheck(fs, rng, false)).toBe('1.0.0');
    }
  });

  it('a cut during the health check of a first install leaves no active slot, and a later install works', async () => {
    const fs = new CrashFs();
    await fs.mkdir('/opt');
    await fs.syncDir('/');
    const cutting: HealthCheck = () => {
      fs.cutAfter(0);
      return Promise.reject(new PowerCut(fs.ops));
    };
    await untilCut(fs, () => agentOn(fs, cutting).install(bundles['1.0.0'] as string));
    fs.crash();
    const agent = agentOn(fs);
    expect(await agent.boot()).toMatchObject({ active: null, recovered: true });
    expect(await fs.stat(`${ROOT}/current`)).toBeUndefined();
    expect((await agent.install(bundles['1.0.0'] as string)).status).toBe('committed');
  });
});
