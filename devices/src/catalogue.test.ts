/**
 * Catalogue-wide tests: every profile validates, ids are unique and match file names, every reference
 * resolves, and no code outside the catalogue knows a board by name.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuArch, isAkbError, validateMessage } from '@akb/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { GENERIC_FAMILY, PROFILE_SUFFIX, ProfileCatalogue, getProfile, isGeneric, loadProfiles, packageRoot } from './catalogue.js';
import { DETECTION_THRESHOLD } from './detect.js';

const srcDir = fileURLToPath(new URL('.', import.meta.url));
const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('the device catalogue', async () => {
  const catalogue = await ProfileCatalogue.load();

  it('holds the Jetson and Raspberry Pi boards, and a generic profile per architecture', () => {
    expect([...catalogue.ids].sort()).toEqual([
      'generic-arm64',
      'generic-armv7',
      'generic-x64',
      'jetson-nano',
      'jetson-orin-nano',
      'jetson-xavier-nx',
      'rpi-3',
      'rpi-4-arm64',
      'rpi-4-armhf',
      'rpi-5',
      'rpi-zero-2w',
    ]);
  });

  it('has unique ids, each the name of its file, in the folder of its family', () => {
    expect(new Set(catalogue.ids).size).toBe(catalogue.ids.length);
    for (const { profile, file } of catalogue.entries) {
      expect(basename(file)).toBe(`${profile.id}${PROFILE_SUFFIX}`);
      expect(profile.id.startsWith(`${basename(dirname(file))}-`)).toBe(true);
    }
  });

  it('validates every profile file against the protocol schema, and every file points editors at it', async () => {
    for (const { file } of catalogue.entries) {
      const json = JSON.parse(await readFile(file, 'utf8')) as { $schema?: string };
      expect(() => validateMessage('device-profile', json)).not.toThrow();
      expect(json.$schema).toBe('../../protocol/schema/device-profile.schema.json');
    }
  });

  it('keeps every profile consistent with itself', () => {
    for (const p of catalogue.profiles) {
      const where = p.id;
      // 32-bit ARM has no onnxruntime-node binary: WASM only.
      if (p.cpu.arch === 'armv7') expect(p.backends, where).toEqual(['onnxruntime-web-wasm']);
      // GPU execution providers only where there is a GPU, and never after the CPU fallback.
      const gpuBackends = p.backends.filter((b) => b === 'onnxruntime-node-cuda' || b === 'onnxruntime-node-tensorrt');
      if (gpuBackends.length > 0) {
        expect(p.accelerators.some((a) => a.kind === 'gpu'), where).toBe(true);
        expect(p.backends.indexOf('onnxruntime-node-cpu'), where).toBeGreaterThan(Math.max(...gpuBackends.map((b) => p.backends.indexOf(b))));
      }
      // int8 only where the CPU has dot product; fp16 only with a GPU backend to run it.
      if (p.quantization === 'int8-qdq') expect(p.cpu.features, where).toContain('asimddp');
      if (p.quantization === 'fp16' || p.quantization === 'int8-qdq-trt') expect(gpuBackends.length, where).toBeGreaterThan(0);
      // Install slots live under the install root.
      expect(p.install.slots.A.startsWith(`${p.install.root}/`), where).toBe(true);
      expect(p.install.slots.B.startsWith(`${p.install.root}/`), where).toBe(true);
    }
    // A device-tree model clue anchors every board.
    for (const p of catalogue.boards) expect(p.detect.some((f) => f.source === 'device-tree-model' && f.weight > 0), p.id).toBe(true);
  });

  it('has one generic profile per architecture, which detection can never be confident of', () => {
    expect(catalogue.generics.map((p) => p.cpu.arch).sort()).toEqual([...CpuArch.options].sort());
    for (const arch of CpuArch.options) expect(catalogue.genericFor(arch)?.id).toBe(`${GENERIC_FAMILY}-${arch}`);
    for (const p of catalogue.generics) {
      const most = p.detect.filter((f) => f.weight > 0).reduce((sum, f) => sum + f.weight, 0);
      expect(most, p.id).toBeLessThan(DETECTION_THRESHOLD);
      expect(p.detect.some((f) => f.source === 'device-tree-model'), p.id).toBe(false);
    }
    expect(catalogue.entries.filter(isGeneric).length + catalogue.boards.length).toBe(catalogue.entries.length);
  });

  it('has a golden fixture folder for every board', async () => {
    const fixtures = await readdir(join(packageRoot, 'fixtures'));
    for (const p of catalogue.boards) expect(fixtures).toContain(p.id);
  });

  it('knows no board by name outside the catalogue: no if/else over boards in the code', async () => {
    const words = new Set<string>(['jetson', 'raspberry', 'orin', 'xavier', 'rpi']);
    for (const p of catalogue.profiles) words.add(p.id.toLowerCase());
    const offenders: string[] = [];
    for (const file of await readdir(srcDir)) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
      const text = (await readFile(join(srcDir, file), 'utf8')).toLowerCase();
      for (const word of words) if (text.includes(word)) offenders.push(`${file}: ${word}`);
    }
    expect(offenders).toEqual([]);
  });
});

describe('loadProfiles and getProfile', () => {
  it('loads the package catalogue by default', async () => {
    expect((await loadProfiles()).length).toBeGreaterThanOrEqual(10);
    expect((await getProfile('rpi-5')).cpu.model).toBe('Cortex-A76');
  });

  it('names the known ids when asked for an unknown one', async () => {
    const error = await rejection(getProfile('rpi-6'));
    expect(isAkbError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'UNKNOWN_PROFILE', message: 'unknown device profile "rpi-6"' });
    expect((error as { hint: string }).hint).toMatch(/^known profiles: generic-arm64, .*jetson-nano, .*rpi-5, rpi-zero-2w$/);
  });

  it('reads a folder of its own, and reports an invalid file by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'akb-profiles-'));
    temps.push(dir);
    const good = JSON.parse(await readFile(join(packageRoot, 'rpi', `rpi-5${PROFILE_SUFFIX}`), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, `lab-board${PROFILE_SUFFIX}`), JSON.stringify({ ...good, id: 'lab-board' }));
    expect((await loadProfiles(dir)).map((p) => p.id)).toEqual(['lab-board']);

    await writeFile(join(dir, `broken${PROFILE_SUFFIX}`), JSON.stringify({ ...good, id: 'broken', memoryMb: -1 }));
    const error = await rejection(loadProfiles(dir));
    expect(error).toMatchObject({ code: 'PROFILE_INVALID' });
    expect((error as Error).message).toContain(`broken${PROFILE_SUFFIX}`);
    expect((error as Error).message).toContain('at memoryMb');
  });

  it('refuses two profiles with one id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'akb-profiles-'));
    temps.push(dir);
    const text = await readFile(join(packageRoot, 'rpi', `rpi-5${PROFILE_SUFFIX}`), 'utf8');
    await writeFile(join(dir, `a${PROFILE_SUFFIX}`), text);
    await writeFile(join(dir, `b${PROFILE_SUFFIX}`), text);
    expect(await rejection(loadProfiles(dir))).toMatchObject({ code: 'PROFILE_DUPLICATE' });
  });

  it('says which folder it could not read', async () => {
    expect(await rejection(loadProfiles(join(tmpdir(), 'no-such-akb-folder')))).toMatchObject({ code: 'PROFILE_DIR_UNREADABLE' });
  });
});
