/**
 * GNU Radio in the loop: the sdr-udp link sends bursts to link/gnuradio/sdr_channel.py (Debian's GNU Radio:
 * UDP source → channels.channel_model with noise and a frequency offset → UDP sink), and the gateway finds
 * them. Checks the frames come back with the configured noise (symbol SNR within 0.5 dB of the emulator's
 * AWGN channel at the same SNR, on the same symbols) and the gateway's SNR estimate within 1 dB.
 * Needs `gnuradio` (apt-get install --no-install-recommends gnuradio); skipped without it, failing under
 * AKB_REQUIRE_ALL=1.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureSnrDb, seededRandom } from '@akb/protocol';
import { Channel, SdrUdpGateway, SdrUdpLink, constantSnr, type ReceivedBurst } from '@akb/link';
import { describeWithProgram } from '../support/index.js';
import { concat, freeUdpPort, startFlowgraph, stopFlowgraph, symbolFrame } from './sdr-support.js';

/**
 * Samples per second sent. GNU Radio's UDP source passed about 500 datagrams/s (90k samples/s) here on a
 * loaded 2-core machine and dropped the rest, so the test paces at a fifth of that.
 */
const RATE = 2e4;
const FRAMES = 10;

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
    await stopFlowgraph(flowgraph);
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
