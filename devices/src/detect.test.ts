/**
 * Detection against golden fixtures: each folder under devices/fixtures/ mirrors the files of one board
 * (its /proc/device-tree/model, /proc/cpuinfo, loader and release files, its `uname -m` in
 * proc/sys/kernel/arch and the ELF header of its /bin/sh), and must detect as that board first. Boards
 * outside the catalogue must not be detected with confidence.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceProfile } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { ProfileCatalogue, packageRoot } from './catalogue.js';
import { DETECTION_THRESHOLD, detectBestProfile, detectProfile, directoryProbe, type ProbeFileSystem } from './detect.js';

const fixturesDir = join(packageRoot, 'fixtures');

/** An in-memory probe that records what was read. */
function memoryProbe(files: Record<string, string>): ProbeFileSystem & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readFile: (path) => {
      reads.push(path);
      const content = files[path];
      if (content === undefined) throw new Error(`ENOENT: ${path}`);
      return content;
    },
    exists: (path) => path in files,
  };
}

describe('detectProfile', async () => {
  const catalogue = await ProfileCatalogue.load();
  const boards = (await readdir(fixturesDir, { withFileTypes: true })).filter((d) => d.isDirectory() && d.name !== 'unknown').map((d) => d.name);

  it('has a fixture for every board', () => {
    expect(boards.sort()).toEqual(catalogue.boards.map((p) => p.id).sort());
  });

  for (const board of boards) {
    it(`detects the ${board} fixture as ${board}, first, confidently and alone at the top`, async () => {
      const matches = await detectProfile(directoryProbe(join(fixturesDir, board)));
      expect(matches[0]?.profile.id).toBe(board);
      expect(matches[0]?.score).toBeGreaterThanOrEqual(DETECTION_THRESHOLD);
      if (matches[1] !== undefined) expect(matches[1].score).toBeLessThan(matches[0]?.score ?? 0);
      expect((await detectBestProfile(directoryProbe(join(fixturesDir, board))))?.profile.id).toBe(board);
    });
  }

  it('tells a 32-bit from a 64-bit userland on the same Pi 4 by the userland architecture', async () => {
    const arm64 = await detectProfile(directoryProbe(join(fixturesDir, 'rpi-4-arm64')));
    const armhf = await detectProfile(directoryProbe(join(fixturesDir, 'rpi-4-armhf')));
    expect(arm64.map((m) => m.profile.id).slice(0, 2)).toEqual(['rpi-4-arm64', 'rpi-4-armhf']);
    expect(armhf.map((m) => m.profile.id).slice(0, 2)).toEqual(['rpi-4-armhf', 'rpi-4-arm64']);
    // The 32-bit userland runs on a 64-bit kernel: machine aarch64, userland arm.
    expect(armhf[0]?.matched.filter((f) => f.source === 'machine' || f.source === 'userland').map((f) => [f.source, f.pattern])).toEqual([
      ['userland', '^arm$'],
      ['machine', '^aarch64$'],
    ]);
  });

  it('does not take a Zero 2 W for a Pi 3, whose CPU it shares', async () => {
    const zero = await detectProfile(directoryProbe(join(fixturesDir, 'rpi-zero-2w')));
    expect(zero[0]?.profile.id).toBe('rpi-zero-2w');
    const pi3InZero = zero.find((m) => m.profile.id === 'rpi-3');
    expect(pi3InZero?.matched.map((f) => f.source)).toEqual(['cpuinfo', 'userland']);
    expect(pi3InZero!.score).toBeLessThan(DETECTION_THRESHOLD);
    const pi3 = await detectProfile(directoryProbe(join(fixturesDir, 'rpi-3')));
    expect(pi3.find((m) => m.profile.id === 'rpi-zero-2w')!.score).toBeLessThan(DETECTION_THRESHOLD);
  });

  it('reads the machine name and the userland live from os.machine() and process.arch', async () => {
    const { machine } = await import('node:os');
    const live = directoryProbe('/');
    expect(await live.machine?.()).toBe(machine());
    expect(await live.userland?.()).toBe(process.arch);
    const captured = directoryProbe(join(fixturesDir, 'rpi-4-armhf'));
    expect((await captured.machine?.())?.trim()).toBe('aarch64');
    expect(await captured.userland?.()).toBe('arm');
  });

  it('matches machine and userland clues only when the probe knows them', async () => {
    const base = catalogue.get('rpi-5');
    const lab: DeviceProfile = {
      ...base,
      id: 'lab-board',
      detect: [
        { source: 'machine', pattern: '^aarch64$', weight: 30 },
        { source: 'userland', pattern: '^arm$', weight: 30 },
      ],
    };
    const files = memoryProbe({});
    expect(await detectProfile(files, { profiles: [lab] })).toEqual([]);
    const both = { ...files, machine: () => 'aarch64\n', userland: () => Promise.resolve('arm') };
    expect((await detectProfile(both, { profiles: [lab] }))[0]?.score).toBe(60);
    // Thrown at it: a machine name that is not a word (a hostile probe answering a whole file), and a
    // userland probe that throws; neither matches, neither fails detection.
    const hostile = { ...files, machine: () => 'aarch64\nrm -rf /', userland: () => Promise.reject(new Error('EIO')) };
    expect(await detectProfile(hostile, { profiles: [lab] })).toEqual([]);
  });

  it('does not take an Orin Nano for a Nano', async () => {
    const matches = await detectProfile(directoryProbe(join(fixturesDir, 'jetson-orin-nano')));
    const nano = matches.find((m) => m.profile.id === 'jetson-nano');
    expect(nano?.matched.some((f) => f.source === 'device-tree-model')).not.toBe(true);
  });

  it('detects nothing confidently on boards outside the catalogue', async () => {
    for (const other of await readdir(join(fixturesDir, 'unknown'))) {
      const probe = directoryProbe(join(fixturesDir, 'unknown', other));
      const matches = await detectProfile(probe);
      for (const m of matches) expect(m.score, `${other}: ${m.profile.id}`).toBeLessThan(DETECTION_THRESHOLD);
      expect(await detectBestProfile(probe)).toBeUndefined();
    }
  });

  it('reports the matched fingerprints and reads each file once', async () => {
    const probe = memoryProbe({
      '/proc/device-tree/model': 'Raspberry Pi 5 Model B Rev 1.1\0',
      '/proc/cpuinfo': 'processor\t: 0\nCPU part\t: 0xd0b\n',
    });
    const [best] = await detectProfile(probe);
    expect(best?.profile.id).toBe('rpi-5');
    expect(best?.matched.map((f) => f.source)).toEqual(['device-tree-model', 'cpuinfo']);
    expect(best?.score).toBe(80);
    expect(probe.reads.filter((p) => p === '/proc/cpuinfo')).toHaveLength(1);
  });

  it('scores the profiles it is given, with negative weights and content patterns', async () => {
    const base = catalogue.get('rpi-5');
    const lab: DeviceProfile = {
      ...base,
      id: 'lab-board',
      detect: [
        { source: 'file', path: '/etc/lab-release', pattern: '^LAB 2\\b', weight: 40 },
        { source: 'file', path: '/etc/lab-release', weight: 20 },
        { source: 'file', path: '/etc/not-lab', weight: -70 },
      ],
    };
    expect((await detectProfile(memoryProbe({ '/etc/lab-release': 'LAB 2 rev 3\n' }), { profiles: [lab] }))[0]?.score).toBe(60);
    expect((await detectProfile(memoryProbe({ '/etc/lab-release': 'LAB 1\n' }), { profiles: [lab] }))[0]?.score).toBe(20);
    expect(await detectProfile(memoryProbe({ '/etc/lab-release': 'LAB 2', '/etc/not-lab': '' }), { profiles: [lab] })).toEqual([]);
    expect(await detectProfile(memoryProbe({ '/etc/lab-release': 'LAB 2', '/etc/not-lab': '' }), { profiles: [lab], minScore: -100 })).toHaveLength(1);
  });

  it('treats unreadable files and failing probes as absent', async () => {
    const failing: ProbeFileSystem = {
      readFile: () => Promise.reject(new Error('EACCES')),
      exists: () => {
        throw new Error('EIO');
      },
    };
    expect(await detectProfile(failing)).toEqual([]);
    expect(await detectBestProfile(failing)).toBeUndefined();
  });

  it('refuses to choose between two profiles tied at the top', async () => {
    const base = catalogue.get('rpi-5');
    const twin = { ...base, id: 'rpi-5-twin' };
    const probe = directoryProbe(join(fixturesDir, 'rpi-5'));
    expect((await detectProfile(probe, { profiles: [base, twin] })).map((m) => m.score)).toEqual([95, 95]);
    expect(await detectBestProfile(probe, { profiles: [base, twin] })).toBeUndefined();
  });
});
