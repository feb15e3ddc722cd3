/**
 * `akb flash` and `akb-agent receive` given what cannot work (build first: npx tsc -b). Thrown: a port
 * that does not exist (each side), a bundle path that does not exist, a baud rate of 0. Each is one line
 * on stderr, a non-zero exit, no stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../install/slot-bundle.js';

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-serial-cli-'));
  await writeFile(join(dir, 'b.akb'), 'not a bundle');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const akb = (...args: string[]) => run(process.execPath, ['toolkit/bin/akb.js', ...args]);
const agent = (...args: string[]) => run(join(REPO, 'runtime-edge/bin/akb-agent'), args);

describe('serial flashing given what cannot work', () => {
  it.each([
    ['akb flash to a port that does not exist', () => akb('flash', '--port', join(dir, 'no-tty'), join(dir, 'b.akb')), /cannot open the serial port/u],
    ['akb flash of a bundle that does not exist', () => akb('flash', '--port', join(dir, 'no-tty'), join(dir, 'none.akb')), /cannot read the bundle/u],
    ['akb flash with a baud rate of 0', () => akb('flash', '--port', join(dir, 'no-tty'), '--baud', '0', join(dir, 'b.akb')), /--baud must be/u],
    ['akb-agent receive on a port that does not exist', () => agent('receive', '--port', join(dir, 'no-tty'), '--root', join(dir, 'root'), '--profile', 'generic-x64', '--trust', dir, '--device', 'd'), /cannot set .* raw|cannot open/u],
  ] as const)('%s: one line, non-zero exit', async (_name, go, pattern) => {
    const r = await go();
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
  });
});
