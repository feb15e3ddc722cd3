/**
 * `akb devices detect --port` on a real pseudo-terminal (socat linking it to `sh -i`, opened with
 * node-serialport as on a board's console) and `akb devices ports`, through yargs and the handlers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { afterEach, describe, expect, it } from 'vitest';
import { requireProgram } from '../../../test/support/programs.js';
import { socatPty } from '../../../test/support/pty.js';
import type { CliContext } from './define.js';
import { devicesCommand } from './devices.js';

const fixtures = fileURLToPath(new URL('../../../devices/fixtures/', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function akbDevices(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, exitCode: 0 };
  await yargs(['devices', ...args]).strict().command(devicesCommand(ctx)).parseAsync();
  return { code: ctx.exitCode, out, err };
}

async function pty(program: string | undefined): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-cli-console-'));
  const started = await socatPty(dir, 'tty', program);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => started.stop());
  return started.path;
}

describe.skipIf(!requireProgram('socat', 'socat'))('akb devices detect --port', () => {
  it('ranks a board through a shell on the port, human and --json', async () => {
    const port = await pty('sh -i');
    const human = await akbDevices('detect', '--port', port, '--root', join(fixtures, 'rpi-zero-2w'));
    expect(human.err).toEqual([]);
    expect(human.code).toBe(0);
    expect(human.out[0]).toMatch(/^rpi-zero-2w +score +105 +\(confident\)$/);
    const json = await akbDevices('detect', '--port', port, '--root', join(fixtures, 'rpi-5'), '--json');
    const rows = JSON.parse(json.out.join('\n')) as { id: string; score: number; confident: boolean }[];
    expect(rows[0]).toEqual({ id: 'rpi-5', score: 95, confident: true });
  });

  it('prints one line and exits non-zero when nothing answers, or the port cannot be opened', async () => {
    // Thrown at it: a pty nobody answers on (the probe waits its idle limit, 3 s), then a port that does not exist.
    const silent = await akbDevices('detect', '--port', await pty(undefined), '--baud', '9600');
    expect(silent.code).toBe(1);
    expect(silent.err).toHaveLength(1);
    expect(silent.err[0]).toMatch(/^akb: nothing came back from the serial console in 3000 ms \(/);
    const missing = await akbDevices('detect', '--port', join(tmpdir(), 'no-such-tty'));
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([expect.stringMatching(/^akb: cannot open the serial port .*no-such-tty: .* \(akb devices ports lists the ports/)]);
    // Thrown at it: a baud rate that is not a number of bits per second.
    expect((await akbDevices('detect', '--port', '/dev/null', '--baud', '-5')).err).toEqual([expect.stringMatching(/^akb: --baud must be a positive whole number/)]);
  });
});

describe('akb devices ports', () => {
  it('lists this machine\'s ports as JSON, and says in one line when sysfs is missing', async () => {
    const json = await akbDevices('ports', '--json');
    expect(json.code).toBe(0);
    expect(Array.isArray(JSON.parse(json.out.join('\n')))).toBe(true);
    // Thrown at it: a sysfs root that does not exist.
    const missing = await akbDevices('ports', '--sysfs', join(tmpdir(), 'no-such-sysfs'));
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([expect.stringMatching(/^akb: cannot read .*no-such-sysfs\/class\/tty \(/)]);
  });
});
