/**
 * readInstalledSlot on real folders. Thrown at it: a manifest larger than the bound (refused before it is
 * read), one that is not JSON, one that is JSON but no bundle manifest, a slot folder named neither slot-a
 * nor slot-b whose root's state.json names another manifest, and a state.json that is garbage; accepted: a
 * slot-b folder, the `current` link to it, and an oddly named slot that state.json names by hash.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SLOT_MANIFEST_BYTES, readInstalledSlot } from './slot-info.js';

const manifest = {
  formatVersion: 1,
  name: 'akb-edge-rpi-5',
  version: '1.2.3',
  targetProfiles: ['rpi-5'],
  created: '2026-01-01T00:00:00Z',
  runtime: { arch: 'arm64' },
  files: [{ path: 'bin/akb-edge', sha256: 'a'.repeat(64), size: 10, role: 'script' }],
};

let dir: string;

async function slot(name: string, bytes: string | Buffer): Promise<string> {
  const d = join(dir, name);
  await mkdir(join(d, '.akb'), { recursive: true });
  await writeFile(join(d, '.akb', 'manifest.json'), bytes);
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-slot-info-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readInstalledSlot', () => {
  it('names the bundle and the slot of slot-b, also through the current link', async () => {
    const b = await slot('slot-b', JSON.stringify(manifest));
    await symlink('slot-b', join(dir, 'current'));
    expect(await readInstalledSlot(b)).toMatchObject({ ok: true, installed: { name: 'akb-edge-rpi-5', version: '1.2.3', slot: 'B' } });
    expect(await readInstalledSlot(join(dir, 'current'))).toMatchObject({ ok: true, installed: { slot: 'B' } });
  });

  it("takes the slot from the root's state.json only when it names this manifest's hash", async () => {
    const bytes = JSON.stringify(manifest);
    const odd = await slot('other', bytes);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const record = { name: 'akb-edge-rpi-5', version: '1.2.3', created: 'x', installedAt: 'y' };
    await writeFile(join(dir, 'state.json'), JSON.stringify({ v: 1, active: 'A', lastGood: 'A', trial: false, slots: { A: { ...record, manifestSha256: sha } } }));
    expect(await readInstalledSlot(odd)).toMatchObject({ ok: true, installed: { slot: 'A' } });
    // Thrown: a state.json naming another manifest, then one that is not JSON.
    await writeFile(join(dir, 'state.json'), JSON.stringify({ v: 1, active: 'A', slots: { A: { ...record, manifestSha256: 'b'.repeat(64) } } }));
    expect(await readInstalledSlot(odd)).toMatchObject({ ok: false, reason: expect.stringMatching(/neither slot-a nor slot-b/) as unknown });
    await writeFile(join(dir, 'state.json'), '{{{');
    expect((await readInstalledSlot(odd)).ok).toBe(false);
  });

  // Thrown: an oversized manifest, bytes that are not JSON, JSON that is no manifest, no manifest at all.
  it.each([
    ['oversized', Buffer.alloc(MAX_SLOT_MANIFEST_BYTES + 1, 0x20), /more than/],
    ['not JSON', '\u0000garbage', /not JSON/],
    ['not a manifest', JSON.stringify({ ...manifest, version: 'latest!' }), /no bundle manifest \(version/],
  ] as const)('refuses a %s manifest with a reason', async (label, bytes, reason) => {
    const d = await slot(`slot-a-${label.replace(/ /g, '-')}`, bytes);
    const result = await readInstalledSlot(d);
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(reason) as unknown });
  });

  it('says why when the folder has no manifest', async () => {
    const result = await readInstalledSlot(join(dir, 'nowhere'));
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/cannot read/) as unknown });
  });
});
