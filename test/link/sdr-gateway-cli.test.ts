/**
 * `akb link sdr-gateway` as users run it (the built CLI in a child process): the sdr-udp link sends bursts
 * straight to the gateway's UDP port (no channel), the frames come out on link/rx through aedes with the
 * same symbols; `--json` prints one line per frame found; a summary at SIGINT. Thrown at it: a datagram of
 * garbage before the bursts, and `--port 70000` (exit 2, the option named). Build first: npx tsc -b.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, seededRandom, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { SdrUdpLink } from '@akb/link';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { symbolFrame } from './sdr-support.js';

const cli = fileURLToPath(new URL('../../toolkit/dist/cli.js', import.meta.url));

describe('akb link sdr-gateway', () => {
  let broker: AedesHandle;
  let client: AkbMqttClient;
  beforeAll(async () => {
    broker = await startAedes();
    client = await connectMqtt({ url: broker.url, clientId: uniqueId('sdr-gw-cli') });
  });
  afterAll(async () => {
    await client.close();
    await broker.close();
  });

  it('publishes the frames of the bursts it receives on link/rx, one JSON line each, and a summary at SIGINT', async () => {
    const inbox = await Inbox.open(client, topics.linkRx('cam-sdr'), 0);
    const child = spawn(process.execPath, [cli, 'link', 'sdr-gateway', '--broker', broker.url, '--device', 'cam-sdr', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 600 && !out.includes('Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 25));
    const port = Number(/listening on udp 127\.0\.0\.1:(\d+)/u.exec(out)?.[1]);
    expect(port, `${out}\n${err}`).toBeGreaterThan(0);
    const junk = createSocket('udp4');
    await new Promise<void>((resolve) => junk.send(Buffer.from('not samples'), port, '127.0.0.1', () => resolve()));
    junk.close();
    const rand = seededRandom(5);
    const sent = [symbolFrame(300, 1, rand), symbolFrame(120, 2, rand)];
    const link = await SdrUdpLink.open({ port, sampleRateHz: 2e5 });
    await link.send(sent.map((s) => s.frame));
    await inbox.waitFor(2, 15_000);
    for (const [i, m] of inbox.messages.entries()) {
      const { header, payload } = decodeFrame(new Uint8Array(m.payload));
      expect(header.frameId).toBe(i + 1);
      // The measured SNR travels in the frame (protocol 1.3 RX_SNR): no channel here, so it is high.
      expect(header.rxSnrDb).toBeGreaterThan(30);
      const got = new Float32Array(payload.slice().buffer);
      // No channel: the symbols come back within float and estimation error.
      let err2 = 0;
      for (let k = 0; k < got.length; k++) err2 += (got[k]! - sent[i]!.values[k]!) ** 2;
      expect(err2 / got.length).toBeLessThan(1e-3);
    }
    await link.close();
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { frameId: number; snrDb: number; symbols: number });
    expect(lines.map((l) => [l.frameId, l.symbols])).toEqual([[1, 300], [2, 120]]);
    expect(lines.every((l) => l.snrDb > 30)).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toMatch(/2 frames published, 0 failed; \{.*"truncated":1/u);
  });

  it('refuses a port beyond 65535, naming the option, with exit code 2', () => {
    const r = spawnSync(process.execPath, [cli, 'link', 'sdr-gateway', '--device', 'x', '--port', '70000'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--port is a UDP port 0–65535, got 70000');
  });
});
