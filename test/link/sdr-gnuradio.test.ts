/**
 * GNU Radio in the loop: the sdr-udp link sends bursts to link/gnuradio/sdr_channel.py (Debian's GNU Radio:
 * UDP source → channels.channel_model with noise and a frequency offset → UDP sink), and the gateway finds
 * them. Checks the frames come back with the configured noise (symbol SNR within 0.5 dB of the emulator's
 * AWGN channel at the same SNR, on the same symbols) and the gateway's SNR estimate within 1 dB.
 * Needs `gnuradio` (apt-get install --no-install-recommends gnuradio); skipped without it, failing under
 * AKB_REQUIRE_ALL=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureSnrDb, seededRandom } from '@akb/protocol';
import { Channel, SdrUdpGateway, SdrUdpLink, constantSnr, type ReceivedBurst } from '@akb/link';
import { describeWithProgram } from '../support/index.js';
import { symbolFrame } from './sdr-support.js';

const FLOWGRAPH = fileURLToPath(new URL('../../link/gnuradio/sdr_channel.py', import.meta.url));
// Debian's GNU Radio Python modules are for the system interpreter, not a pyenv or venv one earlier on PATH.
/**
 * Samples per second sent. GNU Radio's UDP source passed about 500 datagrams/s (90k samples/s) here on a
 * loaded 2-core machine and dropped the rest, so the test paces at a fifth of that.
 */
const RATE = 2e4;
const FRAMES = 10;
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

async function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket('udp4').bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Starts the flowgraph and resolves when it prints "ready"; rejects with its output if it exits first. */
async function startFlowgraph(args: string[]): Promise<ChildProcess> {
  const child = spawn(PYTHON, [FLOWGRAPH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the flowgraph did not start in 20 s:\n${output}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the flowgraph exited (${code}):\n${output}`));
    });
  });
  return child;
}

describeWithProgram('gnuradio-config-info', 'gnuradio', 'sdr-udp through GNU Radio channel_model', () => {
  for (const snrDb of [10, 3]) describe(`at ${snrDb} dB`, () => describeCase(snrDb));
});

function describeCase(snrDb: number): void {
  let flowgraph: ChildProcess | undefined;
  let gateway: SdrUdpGateway;
  let link: SdrUdpLink;
  const bursts: ReceivedBurst[] = [];

  beforeAll(async () => {
    gateway = await SdrUdpGateway.open({ port: 0, deviceId: 'gr' });
    gateway.onBurst((b) => bursts.push(b));
    const inPort = await freeUdpPort();
    flowgraph = await startFlowgraph([
      '--in-port', String(inPort), '--out-port', String(gateway.port),
      '--noise-voltage', String(10 ** (-snrDb / 20)), '--freq-offset', '0.0007', '--seed', '7',
    ]);
    link = await SdrUdpLink.open({ port: inPort, sampleRateHz: RATE });
  }, 30_000);

  afterAll(async () => {
    await link?.close();
    await gateway?.close();
    if (flowgraph && flowgraph.exitCode === null) {
      const exited = new Promise((r) => flowgraph!.once('exit', r));
      flowgraph.kill('SIGTERM');
      await exited;
    }
  });

  it(`frames come back at ${snrDb} dB: symbol noise as configured (vs the emulator within 0.5 dB), SNR estimated within 1 dB`, async () => {
    const rand = seededRandom(40 + snrDb);
    const frames = Array.from({ length: FRAMES }, (_, i) => symbolFrame(500, i + 1, rand));
    const arrived = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${bursts.length} of ${FRAMES} frames came back (ids ${bursts.map((b) => b.header.frameId).join(",")}); gateway ${JSON.stringify(gateway.stats)}`)), 40_000);
      gateway.onBurst(() => {
        if (bursts.length >= FRAMES) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    for (const f of frames) await link.send([f.frame]);
    await arrived;
    expect(bursts.map((b) => b.header.frameId)).toEqual(frames.map((_, i) => i + 1));
    const sent = concat(frames.map((f) => f.values));
    const got = concat(bursts.map((b) => b.values));
    const throughGnuRadio = measureSnrDb(sent, got);
    const channel = new Channel({ snr: constantSnr(snrDb) }, seededRandom(1));
    const out = channel.transmit(sent, { frameKey: 'gr', timeMs: 0 });
    if (out.lost) throw new Error('the emulator lost the block');
    const throughEmulator = measureSnrDb(sent, out.values);
    const estimate = bursts.reduce((s, b) => s + b.snrDb, 0) / bursts.length;
    const cfo = bursts.reduce((s, b) => s + b.cfo, 0) / bursts.length;
    console.log(
      `GNU Radio channel_model at ${snrDb} dB: symbol SNR ${throughGnuRadio.toFixed(2)} dB (emulator ${throughEmulator.toFixed(2)} dB), ` +
        `gateway estimate ${estimate.toFixed(2)} dB, CFO ${cfo.toFixed(5)} cycles/sample (set 0.0007), datagrams ${gateway.stats.datagrams}, missing ${gateway.stats.missing}`,
    );
    expect(Math.abs(throughGnuRadio - throughEmulator)).toBeLessThan(0.5);
    expect(Math.abs(estimate - snrDb)).toBeLessThan(1);
    expect(Math.abs(cfo - 0.0007)).toBeLessThan(0.0001);
  }, 60_000);
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
