/**
 * The "done when", for every profile of the catalogue: `akb package` → `akb bundle verify` →
 * `akb install`, through the CLI as users run it (build first: npx tsc -b). Bundles are made with
 * --no-node (the Node.js fetch is covered by node-runtime.test.ts and the qemu proofs); each is verified
 * against the signing key, installed into a folder standing for the board (--no-probe: the runtimes of
 * other architectures cannot start here; the qemu proofs run those), and the slot holds the profile and
 * only the native addons of the profile's architecture. The x64 bundle is installed with its real health
 * check (the slot's own akb-edge --probe against an embedded broker).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadProfiles } from '@akb/devices';
import { runNode } from '../support/run.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'akb-every-profile-'));

function akb(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(['toolkit/bin/akb.js', ...args], { cwd: REPO, env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' } });
}

const profiles = await loadProfiles();
const ADDON_ARCH: Record<string, string> = { arm64: 'arm64', x64: 'x64', armv7: 'arm' };

describe('akb package → akb bundle verify → akb install, every profile', () => {

  it('has a key', async () => {
    const r = await akb(['keys', 'generate', '--out', join(dir, 'keys'), '--name', 'release']);
    expect(r.code, r.stderr).toBe(0);
  });

  it.each(profiles.map((p) => [p.id, p] as const))('%s', async (id, profile) => {
    const bundle = join(dir, `${id}.akb`);
    const key = join(dir, 'keys', 'release.key');
    const pkg = await akb(['package', '--profile', id, '--set', 'akb-k256', '--key', key, '-o', bundle, '--no-node', '--json']);
    expect(pkg.code, pkg.stderr).toBe(0);

    const verify = await akb(['bundle', 'verify', bundle, '--trust', join(dir, 'keys', 'release.pub')]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^ok /);

    const root = join(dir, `root-${id}`);
    const probe = id === 'generic-x64' && process.arch === 'x64' ? '--probe' : '--no-probe';
    const install = await akb(['install', bundle, '--root', root, '--trust', join(dir, 'keys'), '--profile', id, probe, '--device', `every-${id}`]);
    expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0);
    expect(readlinkSync(join(root, 'current'))).toBe('slot-a');

    const slot = join(root, 'slot-a');
    expect((JSON.parse(readFileSync(join(slot, 'profile.json'), 'utf8')) as { id: string }).id).toBe(id);
    const ortBin = join(slot, 'app/node_modules/onnxruntime-node/bin/napi-v6/linux');
    if (profile.cpu.arch === 'armv7') expect(existsSync(ortBin)).toBe(false);
    else expect(readdirSync(ortBin)).toEqual([ADDON_ARCH[profile.cpu.arch]]);
    expect(readdirSync(join(slot, 'app/node_modules/@serialport/bindings-cpp/prebuilds'))).toEqual([`linux-${ADDON_ARCH[profile.cpu.arch]}`]);
  }, 180_000);

  it('packages a fixed-rate AKB set (kind akb-fixed: encoder, decoder and its pixel KB) and installs it with its health check', async () => {
    const bundle = join(dir, 'akb-fixed.akb');
    const key = join(dir, 'keys', 'release.key');
    const pkg = await akb(['package', '--profile', 'generic-x64', '--set', 'akb-fixed-k1024', '--key', key, '-o', bundle, '--no-node', '--json']);
    expect(pkg.code, pkg.stderr).toBe(0);
    const root = join(dir, 'root-akb-fixed');
    const probe = process.arch === 'x64' ? '--probe' : '--no-probe';
    const install = await akb(['install', bundle, '--root', root, '--trust', join(dir, 'keys'), '--profile', 'generic-x64', probe, '--device', 'every-akb-fixed']);
    expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0);
    const slot = join(root, 'slot-a');
    const set = JSON.parse(readFileSync(join(slot, 'models/sets/akb-fixed-k1024.json'), 'utf8')) as { kind: string; kb: string };
    expect(set).toMatchObject({ kind: 'akb-fixed', kb: 'akb-fixed-kb-k1024' });
    expect(readdirSync(join(slot, 'models/zoo/akb-fixed-kb-k1024')).sort()).toEqual(['gmean.u8', 'kb.json', 'priors.u8']);
  }, 180_000);
});
