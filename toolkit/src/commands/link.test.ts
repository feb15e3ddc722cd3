import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fragmentSymbols, topics } from '@akb/protocol';
import { connectMqtt } from '@akb/protocol/mqtt';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker/embedded.js';

// As users run it: the built bin in a child process (npm test builds first).
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const akb = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, AKB_DEBUG: '' } });

describe('akb link emulate', () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker();
  });
  afterAll(async () => {
    await broker.close();
  });

  it('relays until SIGINT, records SigMF, and prints a one-line summary of its counters', async () => {
    // Thrown at it: 3 frames of 4 fragments, one message of garbage, then SIGINT.
    const dir = mkdtempSync(join(tmpdir(), 'akb-cli-link-'));
    const child = spawn(
      process.execPath,
      [cli, 'link', 'emulate', '--broker', broker.url, '--device', 'cam-9', '--snr', '5', '--fading', 'rayleigh', '--loss', '0,1,0,0', '--qos', '1', '--record', join(dir, 'rec'), '--seed', '3'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const wait = async (test: () => boolean): Promise<void> => {
      const end = Date.now() + 15_000;
      while (!test() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      await wait(() => out.includes('Ctrl-C'));
      expect(out).toContain('cam-9');
      expect(out).toContain('rayleigh fading');
      const edge = await connectMqtt({ url: broker.url, clientId: `cli-link-edge-${process.pid}` });
      const rx = await connectMqtt({ url: broker.url, clientId: `cli-link-rx-${process.pid}` });
      let relayed = 0;
      rx.onMessage(topics.linkRx('cam-9'), () => void relayed++);
      await rx.subscribe(topics.linkRx('cam-9'), { qos: 1 });
      for (let frameId = 0; frameId < 3; frameId++) {
        const values = Float32Array.from({ length: 80 }, (_, i) => Math.sin(i + frameId));
        const meta = { deviceId: 1, sessionId: 1, frameId, actionId: 0, kbVersion: 1, timestampUs: 0 };
        for (const f of fragmentSymbols(meta, values, { mtu: 60 + 10 * 2, dtype: 'int8' })) await edge.publish(topics.linkTx('cam-9'), f, { qos: 1 });
      }
      await edge.publish(topics.linkTx('cam-9'), Buffer.from('garbage'), { qos: 1 });
      await wait(() => relayed >= 12);
      await Promise.all([edge.close(), rx.close()]);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(err).toBe('');
    expect(out.trim().split('\n').at(-1)).toBe(
      'akb link emulate: 13 fragments in, 12 relayed, 0 lost (0.0%), 1 malformed (BAD_MAGIC 1), 1 device, 12 recorded (120 samples)',
    );
    const meta = JSON.parse(readFileSync(join(dir, 'rec.sigmf-meta'), 'utf8')) as { annotations: unknown[]; global: Record<string, unknown> };
    expect(meta.annotations).toHaveLength(12);
    expect(meta.global['core:sample_rate']).toBe(1e6);
    expect(readFileSync(join(dir, 'rec.sigmf-data')).length).toBe(120 * 8);
  });

  it('refuses impossible channels with one line and exit 1, two SNR sources at once with exit 2', () => {
    // Thrown at it: gauss-markov without a Doppler, a loss model of two numbers, an unknown mobility
    // profile, a missing trace file; then --snr together with --mobility.
    for (const [args, text] of [
      [['--fading', 'gauss-markov'], 'needs --doppler'],
      [['--loss', '0.1,0.2'], 'is not four numbers'],
      [['--mobility', 'teleport'], 'no mobility profile "teleport"'],
      [['--snr-trace', '/nonexistent/trace.csv'], 'cannot read SNR trace /nonexistent/trace.csv: ENOENT'],
    ] as const) {
      const r = akb('link', 'emulate', '--broker', broker.url, ...args);
      expect({ args, status: r.status }).toEqual({ args, status: 1 });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(text);
    }
    const both = akb('link', 'emulate', '--broker', 'mqtt://127.0.0.1:1', '--snr', '3', '--mobility', 'walk');
    expect(both.status).toBe(2);
    expect(both.stderr.trim().split('\n')).toHaveLength(1);
    expect(both.stderr).toContain('--snr, --snr-trace and --mobility are alternatives (give one of them)');
  });

  it('says in one line when the broker is not there', () => {
    const r = akb('link', 'emulate', '--broker', 'mqtt://127.0.0.1:1', '--snr', '3');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('cannot connect to mqtt://127.0.0.1:1');
  });
});
