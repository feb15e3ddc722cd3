/**
 * `akb-edge --config edge.json` as users run it (the built daemon in a child process): the file names the
 * device, the broker (aedes) and a serial link to an RN2483 — a ModemSim on a socat pty, airtime ÷ 100 —
 * and the daemon sends a folder of CIFAR-10 test images (`--images`, `--once`) through it; RadioGatewaySim
 * publishes what the sim puts on air on link/rx, where the frames arrive whole, int8, one per tile. Thrown
 * at it: files with an unknown field and with sf 13 (exit 2, the field named). Build first: npx tsc -b.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, decodeMessage, topics } from '@akb/protocol';
import { Inbox, requireProgram } from '../support/index.js';
import { DEVICE, startRig, type Rig } from '../link/serial-rig.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const main = join(root, 'runtime-edge/dist/main.js');
const samples = join(root, 'models/samples/cifar10-test');
const run = requireProgram('socat', 'socat');

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

function edge(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const name of ['AKB_DEVICE_ID', 'AKB_BROKER', 'AKB_MODELS', 'AKB_PROFILE']) delete env[name]; // the file supplies them
  const child = spawn(process.execPath, [main, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.runIf(run)('akb-edge --config with a serial link', () => {
  beforeAll(() => {
    if (!existsSync(main)) throw new Error('runtime-edge is not built: run npx tsc -b first');
  });

  it('starts from the file alone, sends a folder of images through the modem, and they reach the gateway', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 100 });
    const images = join(rig.dir, 'images');
    await mkdir(images);
    const names = (await readdir(samples)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 2);
    for (const n of names) await copyFile(join(samples, n), join(images, n));
    const config = join(rig.dir, 'edge.json');
    await writeFile(config, JSON.stringify({
      deviceId: DEVICE,
      broker: { url: rig.broker.url },
      link: { driver: 'serial', path: rig.pty.path, modem: { kind: 'rn2483', sf: 7 } },
      telemetry: { intervalMs: 200 },
    }));
    const status = await Inbox.open(rig.client, topics.status(DEVICE), 1);
    const telemetry = await Inbox.open(rig.client, topics.telemetry(DEVICE), 1);
    const r = await edge(['--config', config, '--models', 'models/zoo', '--set', 'akb-k256', '--images', images, '--once']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${DEVICE} online at ${rig.broker.url}`);
    expect(r.stdout).toMatch(/: 2 sent, 0 corrupt, 0 failed\n/u);
    const frames = await rig.inbox.waitFor(2, 20_000);
    for (const m of frames) {
      const { header } = decodeFrame(m.payload);
      expect(header.dtype).toBe('int8');
      expect(header.fragmentCount).toBe(1);
    }
    expect(rig.gateway.stats).toMatchObject({ frames: 2, badCrc: 0 });
    const birth = status.messages.map((m) => JSON.parse(Buffer.from(m.payload).toString('utf8')) as { state: string; capabilities?: string[] }).find((s) => s.state === 'online');
    expect(birth?.capabilities).toContain('link:serial');
    // Telemetry carries the link's health (protocol 1.3): the serial driver, up, int8 symbols.
    const sent = telemetry.messages.map((m) => decodeMessage('telemetry', m.payload));
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.at(-1)!.link).toMatchObject({ driver: 'serial', up: true, symbolEncoding: 'int8', packetsLost: 0 });
  }, 120_000);

  it.each([
    ['an unknown field', { deviceId: DEVICE, colour: 'red' }, 'Unrecognized key: "colour"'],
    ['sf 13', { deviceId: DEVICE, link: { driver: 'serial', path: '/dev/null', modem: { kind: 'rn2483', sf: 13 } } }, 'at link.modem.sf'],
  ])('refuses a file with %s, naming the field, exit 2', async (_, value, message) => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 100 });
    const config = join(rig.dir, 'bad.json');
    await writeFile(config, JSON.stringify(value));
    const r = spawnSync(process.execPath, [main, '--config', config], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  });
});
