/**
 * Disk full and a read-only file system during an install, on a real file system: the install root is a
 * tmpfs of 1 MiB mounted for the test (root only; skipped with the reason elsewhere, a failure under
 * AKB_REQUIRE_ALL=1, as CI runs as root). Thrown at it: a bundle whose payload (1.5 MB of incompressible
 * bytes) cannot fit beside the running slot, then the same root remounted read-only. Each time: one line
 * (DISK_FULL / READ_ONLY_FS), the running slot byte-identical, state.json unchanged, `current` still on it,
 * a boot afterwards finds it verifying, and once space is back an ordinary upgrade goes through.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { ed25519, tempDir } from '../../test/craft.js';
import { bytesOf, makeBundle, treeOf } from '../../test/agent-fixtures.js';
import { writeBundle } from '../bundle/write.js';
import { InstallAgent } from './agent.js';
import { nodeAgentFs } from './fs.js';
import { verifySlot } from './verify-slot.js';

const signer = ed25519('mounted');
const mountPoint = join(tempDir('mounted'), 'opt-akb');
mkdirSync(mountPoint);

function tryMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs (run as root, as CI does)';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', mountPoint], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot mount a tmpfs here: ${(e as Error).message.split('\n')[0]}`;
  }
}
const unavailable = tryMount();
if (unavailable !== undefined && process.env.AKB_REQUIRE_ALL === '1') throw new Error(`mounted-disk tests: ${unavailable}`);

const agent = (): InstallAgent => new InstallAgent({ root: mountPoint, profile: 'rpi-5', trustedKeys: [signer.trusted], healthCheck: () => Promise.resolve({ ok: true }) });
const bundles: Record<string, string> = {};

describe.skipIf(unavailable !== undefined)(`install on a full or read-only disk${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  beforeAll(async () => {
    const dir = tempDir('mounted-bundles');
    bundles.v1 = await makeBundle(dir, signer.key, '1.0.0');
    bundles.v11 = await makeBundle(dir, signer.key, '1.1.0');
    bundles.big = join(dir, 'big.akb');
    await writeBundle(bundles.big, {
      name: 'akb-edge-test',
      version: '2.0.0',
      targetProfiles: ['rpi-5'],
      created: new Date('2025-06-01T00:00:00Z'),
      runtime: { arch: 'arm64' },
      files: [{ path: 'node/bin/node', role: 'runtime', mode: 0o755, source: { bytes: bytesOf('big', 1_500_000) } }],
      key: signer.key,
    });
  });
  afterAll(() => {
    execFileSync('umount', [mountPoint], { stdio: 'pipe' });
  });

  it('a full disk and a read-only one: one line each, the running slot untouched', async () => {
    expect(await agent().install(bundles.v1!)).toMatchObject({ status: 'committed', slot: 'A' });
    const fs = nodeAgentFs();
    const slotBefore = await treeOf(fs, join(mountPoint, 'slot-a'));
    const stateBefore = readFileSync(join(mountPoint, 'state.json'), 'utf8');

    const full = await agent().install(bundles.big!).then(() => undefined, (e: unknown) => e);
    expect(isAkbError(full) && full.code).toBe('DISK_FULL');
    expect((full as Error).message).not.toContain('\n');
    expect((full as Error).message).toMatch(/the disk is full \(ENOSPC\)/);
    expect(await treeOf(fs, join(mountPoint, 'slot-a'))).toEqual(slotBefore);
    expect(readFileSync(join(mountPoint, 'state.json'), 'utf8')).toBe(stateBefore);
    expect(readlinkSync(join(mountPoint, 'current'))).toBe('slot-a');

    execFileSync('mount', ['-o', 'remount,ro', mountPoint], { stdio: 'pipe' });
    try {
      const ro = await agent().install(bundles.v11!).then(() => undefined, (e: unknown) => e);
      expect(isAkbError(ro) && ro.code).toBe('READ_ONLY_FS');
      expect((ro as Error).message).toMatch(/read-only \(EROFS\)/);
      expect(await treeOf(fs, join(mountPoint, 'slot-a'))).toEqual(slotBefore);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mountPoint], { stdio: 'pipe' });
    }

    const boot = await agent().boot();
    expect(boot.active).toBe('A');
    const verdict = await verifySlot(fs, join(mountPoint, 'slot-a'), [signer.trusted]);
    expect(verdict.ok).toBe(true);
    // The half-written inactive slot holds no space for good: an ordinary upgrade fits again.
    expect(await agent().install(bundles.v11!)).toMatchObject({ status: 'committed', slot: 'B' });
    expect(readlinkSync(join(mountPoint, 'current'))).toBe('slot-b');
  });
});
