/**
 * `akb link modem-sim` as users run it (the built CLI in a child process): a simulated RN2483 on a socat
 * pty pair, the serial driver on its pty, frames heard published on link/rx through aedes, a summary at
 * SIGINT. Thrown at it: `--tx-error 2` (exit 2, the option named). Build first: npx tsc -b.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { SerialLink } from '@akb/link';
import { Inbox, makeFrame, requireProgram, startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../toolkit/dist/cli.js', import.meta.url));
const run = requireProgram('socat', 'socat');

describe.runIf(run)('akb link modem-sim', () => {
  let broker: AedesHandle;
  let client: AkbMqttClient;
  let dir: string;
  beforeAll(async () => {
    broker = await startAedes();
    client = await connectMqtt({ url: broker.url, clientId: uniqueId('modem-sim-cli') });
    dir = await mkdtemp(join(tmpdir(), 'akb-modem-sim-'));
  });
  afterAll(async () => {
    await client.close();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the serial driver on its pty and publishes the frames it hears; prints a summary at SIGINT', async () => {
    const inbox = await Inbox.open(client, topics.linkRx('cam-cli'), 0);
    const pty = join(dir, 'modem');
    const child = spawn(process.execPath, [cli, 'link', 'modem-sim', '--broker', broker.url, '--device', 'cam-cli', '--pty', pty, '--airtime-scale', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 600 && !out.includes('Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(out, err).toContain(`rn2483 on ${pty}`);
    const link = await SerialLink.open({ path: pty, modem: { kind: 'rn2483', sf: 7, bwKhz: 125, cr: 1 }, airtimeScale: 20 });
    const frame = makeFrame(600, 1);
    await link.send([frame]);
    await inbox.waitFor(1, 10_000);
    expect(Buffer.from(inbox.messages[0]!.payload)).toEqual(Buffer.from(frame));
    await link.close();
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toMatch(/3 packets on air \(\d+ ms\), 0 lost, 0 radio_err; 1 frames reassembled, 1 published, 0 failed the CRC/u);
  });

  it('refuses a probability over 1, naming the option, with exit code 2', () => {
    const r = spawnSync(process.execPath, [cli, 'link', 'modem-sim', '--device', 'x', '--pty', join(dir, 'p2'), '--tx-error', '2'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--tx-error is a probability in [0, 1], got 2');
  });
});
