/**
 * The install agent on CrashFs (no power cuts here; crash.test.ts cuts): installs, health-check failures
 * and rollbacks with their events in order, refusals (downgrade, same version, wrong profile, tampered
 * payload, untrusted key) that leave the running slot and state.json byte-identical, disk errors
 * (ENOSPC at the Nth byte, EROFS) as one line, truncated and hostile archives refused, a concurrent second install refused, and boot's handling of
 * stale and live locks. Bundles are real, made by writeBundle with a test key.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ed25519, gz, manifestFor, rawTar, signedHead, tempDir } from '../../test/craft.js';
import { makeBundle, makeTamperedBundle, payloadOf, treeOf } from '../../test/agent-fixtures.js';
import { InstallAgent, type AgentEvent, type HealthCheck } from './agent.js';
import { CrashFs } from './crash-fs.js';
import { readCurrent } from './state.js';
import { verifySlot } from './verify-slot.js';

const ROOT = '/opt/akb';
const signer = ed25519('agent-test');
const stranger = ed25519('stranger');
const bundles: Record<string, string> = {};
const healthy: HealthCheck = () => Promise.resolve({ ok: true, detail: 'probe encoded' });
const sick: HealthCheck = () => Promise.resolve({ ok: false, reason: 'runtime exited with code 1' });

beforeAll(async () => {
  const dir = tempDir('agent');
  for (const v of ['1.0.0', '1.1.0', '2.0.0-rc.1', '2.0.0']) bundles[v] = await makeBundle(dir, signer.key, v);
  bundles.orin = await makeBundle(dir, signer.key, '3.0.0', ['jetson-orin-nano']);
  bundles.stranger = await makeBundle(dir, stranger.key, '3.0.0');
  bundles.tampered = await makeTamperedBundle(dir, signer.key, '3.0.0');
});

async function board(): Promise<CrashFs> {
  const fs = new CrashFs();
  await fs.mkdir('/opt');
  await fs.syncDir('/');
  return fs;
}

function agentOn(fs: CrashFs, healthCheck = healthy, events: AgentEvent[] = []): InstallAgent {
  return new InstallAgent({ root: ROOT, profile: 'rpi-5', fs, trustedKeys: [signer.trusted], healthCheck, onEvent: (e) => events.push(e) });
}

/** The running slot's files and state.json, to compare before and after something that must not touch them. */
async function snapshot(fs: CrashFs): Promise<{ slot: Record<string, string>; state: string; current: string | undefined }> {
  return { slot: await treeOf(fs, `${ROOT}/slot-a`), state: (await fs.readFile(`${ROOT}/state.json`, 1 << 16)).toString(), current: await readCurrent(fs, ROOT) };
}

describe('InstallAgent', () => {
  it('installs into slot A, then B, with events in order; each slot verifies against the trusted key', async () => {
    const fs = await board();
    const events: AgentEvent[] = [];
    const agent = agentOn(fs, healthy, events);
    expect(await agent.install(bundles['1.0.0'] as string)).toMatchObject({ status: 'committed', slot: 'A' });
    expect(events.map((e) => e.phase)).toEqual(['verifying', 'writing', 'switching', 'health-check', 'committed']);
    expect(await agent.install(bundles['1.1.0'] as string)).toMatchObject({ status: 'committed', slot: 'B' });
    const state = await agent.state();
    expect(state).toMatchObject({ active: 'B', lastGood: 'B', trial: false });
    expect(state.slots.A?.version).toBe('1.0.0');
    expect(state.slots.B?.version).toBe('1.1.0');
    expect(await readCurrent(fs, ROOT)).toBe('B');
    const verdict = await verifySlot(fs, agent.slotDir('B'), [signer.trusted]);
    expect(verdict.ok && verdict.manifest.version).toBe('1.1.0');
    expect((await fs.stat(`${ROOT}/slot-b/bin/akb-edge`))?.mode).toBe(0o755);
    expect(await fs.stat(`${ROOT}/install.lock`)).toBeUndefined();
  });

  it('rolls back to the last known good when the health check fails, events in order', async () => {
    const fs = await board();
    await agentOn(fs).install(bundles['1.0.0'] as string);
    const events: AgentEvent[] = [];
    const result = await agentOn(fs, sick, events).install(bundles['1.1.0'] as string);
    expect(result).toMatchObject({ status: 'rolled-back', slot: 'A' });
    expect(result.message).toContain('runtime exited with code 1');
    expect(events.map((e) => `${e.phase}:${e.slot ?? ''}`)).toEqual(['verifying:B', 'writing:B', 'switching:B', 'health-check:B', 'rolled-back:A']);
    expect(await agentOn(fs).state()).toMatchObject({ active: 'A', lastGood: 'A', trial: false });
    expect(await readCurrent(fs, ROOT)).toBe('A');
  });

  it('treats a health check that throws as failed', async () => {
    const fs = await board();
    await agentOn(fs).install(bundles['1.0.0'] as string);
    const throwing: HealthCheck = () => Promise.reject(new Error('spawn ENOENT'));
    expect(await agentOn(fs, throwing).install(bundles['1.1.0'] as string)).toMatchObject({ status: 'rolled-back', slot: 'A' });
  });

  it('a failed first install leaves no active slot and says so', async () => {
    const fs = await board();
    const events: AgentEvent[] = [];
    const result = await agentOn(fs, sick, events).install(bundles['1.0.0'] as string);
    expect(result).toMatchObject({ status: 'rolled-back', slot: null });
    expect(result.message).toMatch(/no earlier slot/);
    expect(events.at(-1)?.phase).toBe('failed');
    expect(await agentOn(fs).state()).toMatchObject({ active: null, lastGood: null, trial: false });
    expect(await fs.stat(`${ROOT}/current`)).toBeUndefined();
  });

  it('refuses a downgrade and the same version unless forced, leaving the running slot byte-identical', async () => {
    const fs = await board();
    const agent = agentOn(fs);
    await agent.install(bundles['2.0.0-rc.1'] as string);
    const before = await snapshot(fs);
    // thrown: 1.1.0 while 2.0.0-rc.1 runs (an older version)
    expect(await agent.install(bundles['1.1.0'] as string)).toMatchObject({ status: 'refused', slot: 'A', code: 'DOWNGRADE' });
    // thrown: the running version again
    expect(await agent.install(bundles['2.0.0-rc.1'] as string)).toMatchObject({ status: 'refused', code: 'ALREADY_INSTALLED' });
    expect(await snapshot(fs)).toEqual(before);
    expect(await fs.stat(`${ROOT}/slot-b`)).toBeUndefined();
    // 2.0.0 is newer than its release candidate
    expect(await agent.install(bundles['2.0.0'] as string)).toMatchObject({ status: 'committed', slot: 'B' });
    expect(await agent.install(bundles['1.0.0'] as string, { force: true })).toMatchObject({ status: 'committed', slot: 'A' });
    expect((await agent.state()).slots.A?.version).toBe('1.0.0');
  });

  it('refuses a bundle for another profile, an untrusted signer and a tampered payload, with one line each', async () => {
    const fs = await board();
    const events: AgentEvent[] = [];
    const agent = agentOn(fs, healthy, events);
    await agent.install(bundles['1.0.0'] as string);
    const before = await snapshot(fs);
    // thrown: a bundle targeting jetson-orin-nano on an rpi-5 board
    const orin = await agent.install(bundles.orin as string);
    expect(orin).toMatchObject({ status: 'refused', code: 'WRONG_PROFILE' });
    expect(orin.message).toContain('jetson-orin-nano');
    // thrown: a bundle signed by a key the board does not trust
    expect(await agent.install(bundles.stranger as string)).toMatchObject({ status: 'refused', code: 'BUNDLE_UNTRUSTED_KEY' });
    // thrown: a correctly signed manifest whose model.onnx member has one flipped byte
    const tampered = await agent.install(bundles.tampered as string);
    expect(tampered).toMatchObject({ status: 'refused', code: 'BUNDLE_HASH_MISMATCH' });
    expect(tampered.message).toContain('model.onnx');
    for (const r of [orin, tampered]) expect(r.message).not.toContain('\n');
    expect(await snapshot(fs)).toEqual(before);
    expect(await fs.stat(`${ROOT}/slot-b`)).toBeUndefined(); // the half-written slot was removed
    expect(events.filter((e) => e.phase === 'refused')).toHaveLength(3);
  });

  it('refuses truncated and hostile archives (escaping path, symlink, oversized member) without writing outside the slot', async () => {
    const fs = await board();
    const agent = agentOn(fs);
    await agent.install(bundles['1.0.0'] as string);
    const before = await snapshot(fs);
    const dir = tempDir('hostile');
    const whole = await readFile(bundles['1.1.0'] as string);
    const files = payloadOf('1.1.0');
    const manifest = manifestFor(files, { name: 'akb-edge-test', version: '1.1.0' });
    const hostile: Record<string, Buffer> = {
      // thrown: the 1.1.0 bundle cut to 60 % of its bytes
      truncated: whole.subarray(0, Math.floor(whole.length * 0.6)),
      // thrown: a payload member named payload/../../etc/evil
      escaping: gz(rawTar([...signedHead(manifest, signer.key), { name: 'payload/../../etc/evil', content: Buffer.from('x') }])),
      // thrown: a symbolic link member where the first payload file should be
      symlink: gz(rawTar([...signedHead(manifest, signer.key), { name: `payload/${files[0]?.path ?? ''}`, type: '2', linkName: '/etc/passwd' }])),
      // thrown: a member whose header claims 2 GiB (over the 1 MiB member limit passed to the agent)
      oversized: gz(rawTar([...signedHead(manifest, signer.key), { name: `payload/${files[0]?.path ?? ''}`, size: 2 ** 31, content: Buffer.alloc(0) }], false)),
    };
    const codes: Record<string, string> = { truncated: 'BUNDLE_TRUNCATED', escaping: 'BUNDLE_UNSAFE_MEMBER', symlink: 'BUNDLE_UNSAFE_MEMBER', oversized: 'BUNDLE_TOO_LARGE' };
    const limited = new InstallAgent({ root: ROOT, profile: 'rpi-5', fs, trustedKeys: [signer.trusted], healthCheck: healthy, limits: { maxMemberBytes: 1 << 20 } });
    for (const [what, bytes] of Object.entries(hostile)) {
      const path = join(dir, `${what}.akb`);
      await writeFile(path, bytes);
      const result = await limited.install(path);
      expect(result.status, what).toBe('refused');
      expect(result.code, what).toBe(codes[what]);
      expect(result.message, what).not.toContain('\n');
      expect(await snapshot(fs), what).toEqual(before);
      expect(await fs.readdir('/'), what).toEqual(['opt']);
      expect(await fs.readdir(ROOT), what).toEqual(['current', 'slot-a', 'state.json']);
    }
  });

  it('a full disk at the Nth byte is one clear error; the running slot and state.json are untouched', async () => {
    const fs = await board();
    const agent = agentOn(fs);
    await agent.install(bundles['1.0.0'] as string);
    const before = await snapshot(fs);
    for (const n of [0, 1, 50_000, 199_000]) {
      // thrown: ENOSPC once n more bytes were written
      fs.failWritesAfter(n);
      const error: unknown = await agent.install(bundles['1.1.0'] as string).catch((e: unknown) => e);
      expect(isAkbError(error) && error.code).toBe('DISK_FULL');
      expect(isAkbError(error) && error.toLine()).toMatch(/disk is full .*running slot is untouched \(free space/);
      expect(await snapshot(fs)).toEqual(before);
    }
    fs.failWritesAfter(undefined);
    expect(await agent.install(bundles['1.1.0'] as string)).toMatchObject({ status: 'committed', slot: 'B' });
  });

  it('a full disk while switching, committing or rolling back is one line, and boot finds a bootable slot', async () => {
    for (const health of [healthy, sick]) {
      const probe = await board();
      await agentOn(probe).install(bundles['1.0.0'] as string);
      const start = probe.bytesWritten;
      await agentOn(probe, health).install(bundles['1.1.0'] as string);
      const total = probe.bytesWritten - start;
      // thrown: ENOSPC at each of the last 3000 bytes an install writes (the state files, the lock)
      for (let n = total - 3000; n < total; n += 149) {
        const fs = await board();
        await agentOn(fs).install(bundles['1.0.0'] as string);
        fs.failWritesAfter(n);
        const result: unknown = await agentOn(fs, health)
          .install(bundles['1.1.0'] as string)
          .catch((e: unknown) => e);
        if (result instanceof Error) {
          expect(isAkbError(result) && result.code, `ENOSPC after ${n} bytes`).toBe('DISK_FULL');
          expect(isAkbError(result) && result.toLine()).not.toContain('\n');
        }
        fs.failWritesAfter(undefined);
        const boot = await agentOn(fs).boot();
        expect(boot.active, `ENOSPC after ${n} bytes`).not.toBeNull();
        const verdict = await verifySlot(fs, `${ROOT}/slot-${(boot.active ?? 'A').toLowerCase()}`, [signer.trusted]);
        expect(verdict.ok, `ENOSPC after ${n} bytes`).toBe(true);
      }
    }
  });

  it('a read-only file system is one clear error; nothing changes', async () => {
    const fs = await board();
    const agent = agentOn(fs);
    await agent.install(bundles['1.0.0'] as string);
    const before = await snapshot(fs);
    // thrown: EROFS on every change
    fs.setReadOnly(true);
    const error: unknown = await agent.install(bundles['1.1.0'] as string).catch((e: unknown) => e);
    expect(isAkbError(error) && error.code).toBe('READ_ONLY_FS');
    fs.setReadOnly(false);
    expect(await snapshot(fs)).toEqual(before);
    expect(await agent.install(bundles['1.1.0'] as string)).toMatchObject({ status: 'committed' });
  });

  it('refuses a second install while one runs, and runs it after', async () => {
    const fs = await board();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let checking: () => void = () => undefined;
    const inCheck = new Promise<void>((r) => (checking = r));
    const slow: HealthCheck = async () => {
      checking();
      await held;
      return { ok: true };
    };
    const first = agentOn(fs, slow).install(bundles['1.0.0'] as string);
    await inCheck;
    // thrown: a second install (another agent on the same root) while the first health-checks
    const error: unknown = await agentOn(fs).install(bundles['1.1.0'] as string).catch((e: unknown) => e);
    expect(isAkbError(error) && error.code).toBe('INSTALL_BUSY');
    expect(isAkbError(error) && error.message).toContain(`pid ${process.pid}`);
    // boot during an install with a live holder does nothing
    expect((await agentOn(fs).boot()).message).toMatch(/install is running/);
    release();
    expect(await first).toMatchObject({ status: 'committed', slot: 'A' });
    expect(await agentOn(fs).install(bundles['1.1.0'] as string)).toMatchObject({ status: 'committed', slot: 'B' });
  });

  it('boot removes a stale lock, leftovers of a replace, and keeps a healthy state as it is', async () => {
    const fs = await board();
    await agentOn(fs).install(bundles['1.0.0'] as string);
    const handle = await fs.open(`${ROOT}/install.lock`);
    await handle.write(Buffer.from(JSON.stringify({ pid: 2 ** 30, bootId: 'another-boot', startedAt: 'then' })));
    await handle.close();
    await (await fs.open(`${ROOT}/state.json.tmp`)).close();
    const state = (await fs.readFile(`${ROOT}/state.json`, 1 << 16)).toString();
    const result = await agentOn(fs).boot();
    expect(result).toMatchObject({ active: 'A', recovered: false });
    expect(result.message).toMatch(/stale install lock/);
    expect(await fs.stat(`${ROOT}/install.lock`)).toBeUndefined();
    expect(await fs.stat(`${ROOT}/state.json.tmp`)).toBeUndefined();
    expect((await fs.readFile(`${ROOT}/state.json`, 1 << 16)).toString()).toBe(state);
  });

  it('boot replaces an active slot that no longer verifies by the last known good, or by none', async () => {
    const fs = await board();
    const agent = agentOn(fs);
    await agent.install(bundles['1.0.0'] as string);
    // thrown at boot: slot A's model.onnx overwritten with other bytes of the same size
    const h = await fs.open(`${ROOT}/slot-a/models/zoo/enc/model.onnx`);
    await h.write(Buffer.alloc(80_000));
    await h.close();
    const events: AgentEvent[] = [];
    const result = await agentOn(fs, healthy, events).boot();
    expect(result).toMatchObject({ active: null, recovered: true });
    expect(result.message).toMatch(/model\.onnx does not match/);
    expect(events.map((e) => e.phase)).toEqual(['recovered']);
    expect(await fs.stat(`${ROOT}/current`)).toBeUndefined();
  });

  it('boot rebuilds an unreadable state.json from the slots', async () => {
    const fs = await board();
    const agent = agentOn(fs);
    await agent.install(bundles['1.0.0'] as string);
    await agent.install(bundles['1.1.0'] as string);
    // thrown at boot: state.json holding garbage
    const h = await fs.open(`${ROOT}/state.json`);
    await h.write(Buffer.from('{"v":1,"active":'));
    await h.close();
    const result = await agent.boot();
    expect(result).toMatchObject({ active: 'B', recovered: true });
    expect(await agent.state()).toMatchObject({ active: 'B', lastGood: 'B', trial: false });
  });
});
