/**
 * The same agent on the real disk (nodeAgentFs in a temp folder, real fsync of files and folders, a real
 * symbolic link `current`): first install, upgrade, a failed health check rolled back, a refusal that
 * leaves the running slot byte-identical, a stale lock removed at boot, a read-only root (chmod 0555, when
 * not running as root) refused with one line; and the slot writer refusing payload paths that escape.
 */
import { chmod, mkdir, readdir, readlink, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { ed25519, tempDir } from '../../test/craft.js';
import { makeBundle, makeTamperedBundle, treeOf } from '../../test/agent-fixtures.js';
import { InstallAgent, type HealthCheck } from './agent.js';
import { nodeAgentFs } from './fs.js';
import { SlotWriter } from './slot-writer.js';
import { verifySlot } from './verify-slot.js';

const signer = ed25519('real-disk');
const bundles: Record<string, string> = {};
const seen: string[] = [];
const healthy: HealthCheck = async ({ dir }) => {
  // what a health check may do: read the slot it was given
  seen.push((await readFile(join(dir, 'profile.json'), 'utf8')).trim());
  return { ok: true };
};
const sick: HealthCheck = () => Promise.resolve({ ok: false, reason: 'did not connect within 30 s' });

beforeAll(async () => {
  const dir = tempDir('agent-real');
  for (const v of ['1.0.0', '1.1.0', '1.2.0']) bundles[v] = await makeBundle(dir, signer.key, v);
  bundles.tampered = await makeTamperedBundle(dir, signer.key, '2.0.0');
});

function agentAt(root: string, healthCheck = healthy): InstallAgent {
  return new InstallAgent({ root, profile: 'rpi-5', trustedKeys: [signer.trusted], healthCheck });
}

describe('InstallAgent on the real disk', () => {
  it('installs, upgrades, rolls back and refuses, with `current` a real symbolic link', async () => {
    const root = join(tempDir('root'), 'opt-akb');
    const agent = agentAt(root);
    expect(await agent.install(bundles['1.0.0'] as string)).toMatchObject({ status: 'committed', slot: 'A' });
    expect(seen.at(-1)).toBe('{"id":"rpi-5"}');
    expect(await readlink(join(root, 'current'))).toBe('slot-a');
    expect(await agent.install(bundles['1.1.0'] as string)).toMatchObject({ status: 'committed', slot: 'B' });
    expect(await readlink(join(root, 'current'))).toBe('slot-b');
    const fs = nodeAgentFs();
    const before = await treeOf(fs, join(root, 'slot-b'));

    expect(await agentAt(root, sick).install(bundles['1.2.0'] as string)).toMatchObject({ status: 'rolled-back', slot: 'B' });
    expect(await readlink(join(root, 'current'))).toBe('slot-b');
    const stateBefore = await readFile(join(root, 'state.json'));
    // thrown: a signed manifest whose model.onnx member has one flipped byte
    expect(await agent.install(bundles.tampered as string)).toMatchObject({ status: 'refused', code: 'BUNDLE_HASH_MISMATCH' });
    expect(await treeOf(fs, join(root, 'slot-b'))).toEqual(before);
    expect((await readFile(join(root, 'state.json'))).toString()).toBe(stateBefore.toString());
    expect((await readdir(root)).sort()).toEqual(['current', 'slot-b', 'state.json']);

    const verdict = await verifySlot(fs, join(root, 'slot-b'), [signer.trusted]);
    expect(verdict.ok && verdict.manifest.version).toBe('1.1.0');
    expect(before['bin/akb-edge']).toMatch(/^file 755 /);
    expect(before['.akb/manifest.sig']).toMatch(/^file 644 /);
  });

  it('boot removes a lock left by a process that is gone and keeps the running slot', async () => {
    const root = join(tempDir('root'), 'akb');
    const agent = agentAt(root);
    await agent.install(bundles['1.0.0'] as string);
    await writeFile(join(root, 'install.lock'), JSON.stringify({ pid: 2 ** 22 + 17, bootId: 'a-boot-long-ago', startedAt: '2025-01-01T00:00:00Z' }));
    // thrown: an install while that lock is there
    const busy: unknown = await agent.install(bundles['1.1.0'] as string).catch((e: unknown) => e);
    expect(isAkbError(busy) && busy.code).toBe('INSTALL_BUSY');
    expect(await agent.boot()).toMatchObject({ active: 'A', recovered: false });
    expect(await agent.install(bundles['1.1.0'] as string)).toMatchObject({ status: 'committed', slot: 'B' });
  });

  it.skipIf(process.getuid?.() === 0)('a root it may not write is one clear error and nothing changes', async () => {
    const root = join(tempDir('root'), 'akb');
    const agent = agentAt(root);
    await agent.install(bundles['1.0.0'] as string);
    const before = await treeOf(nodeAgentFs(), root);
    await chmod(root, 0o555);
    try {
      // thrown: EACCES on creating the lock in a read-only folder
      const error: unknown = await agent.install(bundles['1.1.0'] as string).catch((e: unknown) => e);
      expect(isAkbError(error) && error.code).toBe('DISK_ACCESS');
    } finally {
      await chmod(root, 0o755);
    }
    expect(await treeOf(nodeAgentFs(), root)).toEqual(before);
  });

  it('the slot writer refuses payload paths that escape the slot, writing nothing', async () => {
    const base = tempDir('escape');
    await mkdir(join(base, 'board'));
    const writer = new SlotWriter(nodeAgentFs(), join(base, 'board', 'slot-a'));
    await writer.prepare();
    const stream = (async function* () {
      yield await Promise.resolve(Buffer.from('x'));
    })();
    // thrown: ../, absolute, empty-segment and .akb paths (the reader refuses them first; this is the second guard)
    for (const path of ['../escaped', '/etc/passwd', 'a//b', 'a/./b', '.akb/manifest.json', 'a/../../x']) {
      const entry = { path, sha256: '0'.repeat(64), size: 1, role: 'other' as const };
      const error: unknown = await writer.file(entry, stream).catch((e: unknown) => e);
      expect(isAkbError(error) && error.code, path).toBe('BUNDLE_UNSAFE_MEMBER');
    }
    expect((await readdir(base)).sort()).toEqual(['board']);
    expect(await readdir(join(base, 'board', 'slot-a'))).toEqual(['.akb']);
    expect(await readdir(join(base, 'board', 'slot-a', '.akb'))).toEqual([]);
  });
});
