import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The CLI is tested as users run it: the built bin in a child process (npm test builds first).
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const akb = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, AKB_DEBUG: '' } });

describe('akb CLI', () => {
  it('lists its commands with --help and exits 0', () => {
    const r = akb('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('akb topics');
    expect(r.stdout).toContain('akb broker');
  });

  it('answers an unknown command with one line on stderr and exit 2', () => {
    const r = akb('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^akb: .*frobnicate/);
  });

  it('refuses an unknown option without running the command', () => {
    const r = akb('topics', '--device', 'x', '--bogus');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('akb: Unknown argument: bogus (see akb --help)');
  });

  it('turns a typed error (a hostile device id) into one line, exit 1, no stack trace', () => {
    const r = akb('topics', '--device', '../../etc/passwd');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('invalid device id');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints machine-readable JSON with --json', () => {
    const r = akb('topics', '--device', 'pi-7', '--json');
    expect(r.status).toBe(0);
    const table = JSON.parse(r.stdout) as Record<string, string>;
    expect(table.status).toBe('akb/v1/dev/pi-7/status');
    expect(table['link/tx']).toBe('akb/v1/dev/pi-7/link/tx');
  });

  it('prints the direction-split Mosquitto ACL: no device pattern both reads and writes, none covers a whole subtree', () => {
    const r = akb('topics', '--device', 'x', '--acl');
    const patterns = r.stdout.split('\n').filter((l) => l.startsWith('pattern '));
    expect(patterns).toEqual(expect.arrayContaining(['pattern write akb/v1/dev/%u/status', 'pattern read akb/v1/dev/%u/cmd/req', 'pattern read akb/v1/dev/%u/ota/offer']));
    expect(patterns.filter((l) => l.startsWith('pattern readwrite') || l.includes('#'))).toEqual([]);
    // What others write to a device is never the device's to write.
    for (const t of ['cmd/req', 'feedback', 'ota/offer', 'ota/block', 'kb/res']) expect(patterns).not.toContain(`pattern write akb/v1/dev/%u/${t}`);
  });

  it('grants cloud/ops/req to the --tool users and the cloud, never to devices by a pattern', () => {
    const r = akb('topics', '--acl', '--tool', 'ops');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const tool = lines.slice(lines.indexOf('user ops'));
    expect(tool).toEqual(expect.arrayContaining(['topic write akb/v1/cloud/ops/req', 'topic read akb/v1/cloud/res/ops']));
    expect(lines).toContain('topic read akb/v1/cloud/ops/req');
    expect(lines.filter((l) => l.startsWith('pattern') && l.includes('cloud/ops'))).toEqual([]);
    expect(lines.filter((l) => !l.startsWith('#') && l.includes('cloud/ops/req') && l.includes('write'))).toEqual(['topic write akb/v1/cloud/ops/req']);
  });
});

describe('akb subcommands on real files', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  it('lists the device catalogue as JSON', () => {
    const r = akb('devices', 'list', '--json');
    expect(r.status).toBe(0);
    const ids = (JSON.parse(r.stdout) as { id: string }[]).map((p) => p.id);
    expect(ids).toContain('rpi-5');
    expect(ids).toContain('jetson-orin-nano');
  });

  it('detects a Raspberry Pi 5 from a mounted root file system', () => {
    const r = akb('devices', 'detect', '--root', `${root}devices/fixtures/rpi-5`, '--json');
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { id: string; confident: boolean }[])[0]).toMatchObject({ id: 'rpi-5', confident: true });
  });

  it('decodes a golden frame and refuses a corrupted one with one line', () => {
    const ok = akb('frame', 'decode', `${root}protocol/vectors/frames/01-float32.bin`, '--json');
    expect(ok.status).toBe(0);
    expect((JSON.parse(ok.stdout) as { header: { dtype: string } }).header.dtype).toBe('float32');
    // Thrown at it: a frame whose CRC does not match.
    const bad = akb('frame', 'decode', `${root}protocol/vectors/frames/09-bad-crc.bin`);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('CRC-32C');
  });

  it('validates a profile and rejects a file of the wrong kind naming the path', () => {
    expect(akb('message', 'validate', 'device-profile', `${root}devices/rpi/rpi-5.profile.json`).status).toBe(0);
    const bad = akb('message', 'validate', 'model-card', `${root}devices/rpi/rpi-5.profile.json`);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^akb: model-card: at /);
  });

  it('writes the JSON Schemas to a folder', () => {
    const out = mkdtempSync(join(tmpdir(), 'akb-schema-'));
    expect(akb('schema', '--out', out).status).toBe(0);
    expect(readdirSync(out)).toContain('model-card.schema.json');
  });
});

describe('command modules', () => {
  // `akb --help` stays instant because no command module imports a heavy package at load time.
  const heavy = /^import\s+(?!type)[^;]*from\s+'(onnxruntime-node|onnxruntime-web|aedes|mqtt|serialport|playwright-core|sharp)'/m;
  const dir = fileURLToPath(new URL('./commands/', import.meta.url));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    it(`${file} imports heavy modules lazily`, () => {
      expect(readFileSync(dir + file, 'utf8')).not.toMatch(heavy);
    });
  }
});
