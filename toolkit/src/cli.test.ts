import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
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

  it('prints the one-pattern-per-device Mosquitto ACL', () => {
    const r = akb('topics', '--device', 'x', '--acl');
    expect(r.stdout).toContain('pattern readwrite akb/v1/dev/%u/#');
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
