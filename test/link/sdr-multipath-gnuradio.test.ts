/**
 * The multipath equalizer through GNU Radio: the sdr-udp link sends bursts to link/gnuradio/sdr_channel.py
 * (channel_model with `--taps`, `--noise-voltage` and a frequency offset), and each datagram that comes out
 * is handed to two gateways, one with the equalizer (the default) and one without (`channelTaps: 1`), so
 * both see the same samples. Compares their symbol SNR with the emulator's AWGN channel on the same symbols
 * and with the linear MMSE bound of the taps. Paced at 2e4 samples/s, 10 bursts of 500 symbols per case.
 * Needs `gnuradio` (apt-get install --no-install-recommends gnuradio); skipped without it, failing under
 * AKB_REQUIRE_ALL=1.
 */
import type { ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureSnrDb, seededRandom } from '@akb/protocol';
import { Channel, SdrUdpGateway, SdrUdpLink, constantSnr, type ReceivedBurst } from '@akb/link';
import { describeWithProgram } from '../support/index.js';
import { concat, freeUdpPort, mmseBoundDb, startFlowgraph, stopFlowgraph, symbolFrame } from './sdr-support.js';

const RATE = 2e4;
const FRAMES = 10;
const SNR_DB = 10;
const FREQ_OFFSET = 0.0007;

interface Case {
  /** As `--taps` takes them. */
  taps: string;
  /** Least the equalizer must gain over one gain, dB. */
  gainDb: number;
}

const CASES: Case[] = [
  { taps: '1,0.2j', gainDb: 1 },
  { taps: '0.8391,0.5245,0.2098', gainDb: 3 }, // [0.8, 0.5, 0.2] normalized
];

describeWithProgram('gnuradio-config-info', 'gnuradio', 'sdr-udp multipath through GNU Radio channel_model', () => {
  for (const c of CASES) describe(`taps ${c.taps}`, () => describeCase(c));
});

function describeCase(c: Case): void {
  let flowgraph: ChildProcess | undefined;
  let tap: Socket | undefined;
  const gateways: SdrUdpGateway[] = [];
  let link: SdrUdpLink | undefined;
  const equalized: ReceivedBurst[] = [];
  const oneGain: ReceivedBurst[] = [];

  beforeAll(async () => {
    const eq = await SdrUdpGateway.open({ port: 0, deviceId: 'gr' });
    const one = await SdrUdpGateway.open({ port: 0, deviceId: 'gr', channelTaps: 1 });
    gateways.push(eq, one);
    eq.onBurst((b) => equalized.push(b));
    one.onBurst((b) => oneGain.push(b));
    // one socket for the flowgraph's output, each datagram to both gateways
    const socket = createSocket('udp4');
    tap = socket;
    socket.on('message', (m) => {
      eq.receive(m);
      one.receive(m);
    });
    const outPort = await new Promise<number>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
    const inPort = await freeUdpPort();
    flowgraph = await startFlowgraph([
      '--in-port', String(inPort), '--out-port', String(outPort), '--taps', c.taps,
      '--noise-voltage', String(10 ** (-SNR_DB / 20)), '--freq-offset', String(FREQ_OFFSET), '--seed', '11',
    ]);
    link = await SdrUdpLink.open({ port: inPort, sampleRateHz: RATE });
  }, 30_000);

  afterAll(async () => {
    await link?.close();
    for (const g of gateways) await g.close();
    if (tap) await new Promise<void>((r) => tap!.close(() => r()));
    await stopFlowgraph(flowgraph);
  });

  it(`frames come back through taps ${c.taps} at ${SNR_DB} dB; the equalizer reaches the MMSE bound, one gain does not`, async () => {
    const rand = seededRandom(60);
    const frames = Array.from({ length: FRAMES }, (_, i) => symbolFrame(500, i + 1, rand));
    const arrived = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${equalized.length} and ${oneGain.length} of ${FRAMES} frames came back; gateways ${JSON.stringify(gateways.map((g) => g.stats))}`));
      }, 40_000);
      const check = (): void => {
        if (equalized.length >= FRAMES && oneGain.length >= FRAMES) {
          clearTimeout(timer);
          resolve();
        }
      };
      for (const g of gateways) g.onBurst(check);
    });
    for (const f of frames) await link!.send([f.frame]);
    await arrived;
    const ids = frames.map((_, i) => i + 1);
    expect(equalized.map((b) => b.header.frameId)).toEqual(ids);
    expect(oneGain.map((b) => b.header.frameId)).toEqual(ids);

    const taps = c.taps.split(',').map((t): [number, number] => (t.endsWith('j') ? [0, Number(t.slice(0, -1))] : [Number(t), 0]));
    const power = taps.reduce((s, [re, im]) => s + re * re + im * im, 0);
    const noiseVar = 10 ** (-SNR_DB / 10);
    const channelSnrDb = 10 * Math.log10(power / noiseVar);
    const bound = mmseBoundDb(taps, noiseVar);
    const sent = concat(frames.map((f) => f.values));
    const withEq = measureSnrDb(sent, concat(equalized.map((b) => b.values)));
    const without = measureSnrDb(sent, concat(oneGain.map((b) => b.values)));
    const emulator = new Channel({ snr: constantSnr(channelSnrDb) }, seededRandom(1)).transmit(sent, { frameKey: 'gr', timeMs: 0 });
    if (emulator.lost) throw new Error('the emulator lost the block');
    const awgn = measureSnrDb(sent, emulator.values);
    const mean = (bs: ReceivedBurst[], f: (b: ReceivedBurst) => number): number => bs.reduce((s, b) => s + f(b), 0) / bs.length;
    const tapsSeen = equalized[0]!.taps.map((t) => t.toFixed(2)).join(', ');
    console.log(
      `GNU Radio taps ${c.taps} at ${SNR_DB} dB (channel SNR ${channelSnrDb.toFixed(2)} dB): symbol SNR ${withEq.toFixed(2)} dB equalized, ${without.toFixed(2)} dB one gain, ` +
        `MMSE bound ${bound.toFixed(2)} dB, AWGN alone ${awgn.toFixed(2)} dB (emulator); estimates: channel ${mean(equalized, (b) => b.snrDb).toFixed(2)} dB, ` +
        `equalized ${mean(equalized, (b) => b.equalizedSnrDb).toFixed(2)} dB, one gain ${mean(oneGain, (b) => b.snrDb).toFixed(2)} dB; taps [${tapsSeen}] main ${equalized[0]!.mainTap}; ` +
        `CFO ${mean(equalized, (b) => b.cfo).toFixed(5)}; missing ${gateways[0]!.stats.missing}`,
    );
    expect(Math.abs(withEq - bound)).toBeLessThan(0.6);
    expect(withEq - without).toBeGreaterThan(c.gainDb);
    expect(Math.abs(mean(equalized, (b) => b.snrDb) - channelSnrDb)).toBeLessThan(1);
    expect(Math.abs(mean(equalized, (b) => b.equalizedSnrDb) - withEq)).toBeLessThan(1);
    expect(Math.abs(mean(equalized, (b) => b.cfo) - FREQ_OFFSET)).toBeLessThan(0.0001);
  }, 60_000);
}
