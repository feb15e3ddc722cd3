/**
 * resolveProfile: a given id wins (an unknown one is refused naming every known id), else a confident
 * detection on the golden fixtures, else the generic profile of the process's architecture, with the
 * reason said. Thrown at it: unknown ids, fixtures of boards outside the catalogue, two tied profiles,
 * an architecture with no generic profile, and this machine's real /proc.
 */
import { join } from 'node:path';
import { isAkbError } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { ProfileCatalogue, packageRoot } from './catalogue.js';
import { directoryProbe } from './detect.js';
import { cpuArchOf, resolveProfile } from './resolve.js';

const fixtures = join(packageRoot, 'fixtures');
const fixture = (name: string) => directoryProbe(join(fixtures, name));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('resolveProfile', async () => {
  const catalogue = await ProfileCatalogue.load();

  it('takes a given id without detecting anything', async () => {
    const reads: string[] = [];
    const probe = { readFile: (p: string) => (reads.push(p), ''), exists: () => false };
    const r = await resolveProfile({ id: 'jetson-orin-nano', catalogue, probe, arch: 'x64' });
    expect(r).toMatchObject({ choice: 'given', reason: 'jetson-orin-nano (given)' });
    expect(r.profile.backends).toEqual(['onnxruntime-node-tensorrt', 'onnxruntime-node-cuda', 'onnxruntime-node-cpu']);
    expect(reads).toEqual([]);
  });

  it('refuses an unknown id in one line that names every known id', async () => {
    const error = await rejection(resolveProfile({ id: 'rpi-9', catalogue }));
    expect(isAkbError(error)).toBe(true);
    const { message, hint } = error as { message: string; hint: string };
    expect(message).toBe('unknown device profile "rpi-9"');
    for (const id of catalogue.ids) expect(hint).toContain(id);
    expect(`${message} (${hint})`).not.toContain('\n');
  });

  for (const board of ['jetson-nano', 'jetson-orin-nano', 'jetson-xavier-nx', 'rpi-3', 'rpi-4-arm64', 'rpi-4-armhf', 'rpi-5']) {
    it(`detects the ${board} fixture, whatever the architecture the process runs as`, async () => {
      const r = await resolveProfile({ catalogue, probe: fixture(board), arch: 'x64' });
      expect(r.choice).toBe('detected');
      expect(r.profile.id).toBe(board);
      expect(r.reason).toMatch(new RegExp(`^${board} \\(detected, score \\d+\\)$`));
    });
  }

  it('falls back to the generic profile of the architecture on boards outside the catalogue', async () => {
    const rock = await resolveProfile({ catalogue, probe: fixture('unknown/rock-5b'), arch: 'arm64' });
    expect(rock).toMatchObject({ choice: 'generic', profile: { id: 'generic-arm64' } });
    expect(rock.reason).toMatch(/^generic-arm64 \(generic for arm64: no board detected/);
    const pc = await resolveProfile({ catalogue, probe: fixture('unknown/x64-workstation'), arch: 'x64' });
    expect(pc).toMatchObject({ choice: 'generic', profile: { id: 'generic-x64', backends: ['onnxruntime-node-cpu', 'onnxruntime-web-wasm'] } });
    // A 32-bit userland on the same unknown board: the process's architecture decides, WASM only.
    const arm32 = await resolveProfile({ catalogue, probe: fixture('unknown/rock-5b'), arch: 'arm' });
    expect(arm32.profile).toMatchObject({ id: 'generic-armv7', backends: ['onnxruntime-web-wasm'] });
  });

  it('never detects a generic profile, even where its clue matches', async () => {
    const r = await resolveProfile({ catalogue, probe: fixture('unknown/x64-workstation'), arch: 'arm64' });
    expect(r.profile.id).toBe('generic-arm64');
    expect(r.match).toBeUndefined(); // the x64 loader is the generic-x64 clue, and generics are not candidates
  });

  it('falls back when two boards tie at the top, and says so', async () => {
    const base = catalogue.get('rpi-5');
    const twin = { ...base, id: 'rpi-5-twin' };
    const own = new ProfileCatalogue([
      { profile: base, file: join(packageRoot, 'rpi', 'rpi-5.profile.json') },
      { profile: twin, file: join(packageRoot, 'rpi', 'rpi-5-twin.profile.json') },
      { profile: catalogue.get('generic-arm64'), file: join(packageRoot, 'generic', 'generic-arm64.profile.json') },
    ]);
    const r = await resolveProfile({ catalogue: own, probe: fixture('rpi-5'), arch: 'arm64' });
    expect(r).toMatchObject({ choice: 'generic', profile: { id: 'generic-arm64' } });
    expect(r.reason).toContain('rpi-5 and rpi-5-twin tied at 95');
  });

  it('refuses an architecture with no generic profile, exit 2, naming the ids to pass', async () => {
    const error = await rejection(resolveProfile({ catalogue, probe: fixture('unknown/x64-workstation'), arch: 'riscv64' }));
    expect(error).toMatchObject({ code: 'NO_PROFILE', exitCode: 2 });
    expect((error as { hint: string }).hint).toMatch(/^pass --profile with one of: generic-arm64, /);
  });

  it('maps Node architectures to profile ones', () => {
    expect([cpuArchOf('x64'), cpuArchOf('arm64'), cpuArchOf('arm'), cpuArchOf('ia32')]).toEqual(['x64', 'arm64', 'armv7', undefined]);
  });

  it('resolves this machine from its real /proc and /sys: a board it detects, else the generic profile of its architecture', async () => {
    const r = await resolveProfile({ catalogue });
    if (r.choice === 'detected') expect(catalogue.boards.map((p) => p.id)).toContain(r.profile.id);
    else expect(r).toMatchObject({ choice: 'generic', profile: { id: `generic-${cpuArchOf(process.arch)}` } });
  });
});
