/**
 * bench/link-serial: goodput of the `serial` link driver through the modem simulator on a socat pty pair,
 * against the theoretical rate of the radio, for an RN2483 at SF7/125 kHz and SF12/125 kHz (CR 4/5) and
 * an E32 at 2.4 kb/s (58-byte packets). The simulator's time on air is divided by `scale` (LoRa SF7: 10,
 * SF12: 200, so the run is short; E32: 1, real time, since the driver's 10 ms idle gap between packets
 * is not scaled); wall-clock figures are multiplied back by it. Per case:
 * - phyBytesPerSecond: the radio's bit rate / 8 (LoRa: SF·4/5·BW/2^SF; E32: the air rate);
 * - airtimeGoodput: frame bytes delivered per second of time on air (exact: preamble, header, CRC and the
 *   7 bytes of link segmentation are the whole difference from the PHY rate);
 * - wallGoodput: frame bytes per wall-clock second × scale (adds the UART, the driver and the modem's
 *   turnaround, also divided by the scale, so this is an upper bound on a real modem's);
 * - cifarSeconds: one CIFAR-10 image at k/n = 1/12 (256 complex symbols, int8: one 572-byte frame), sent;
 *   kodakSecondsEstimated: one Kodak image at 1/12 (98,304 symbols, 196,608 bytes of int8 in 204 fragments
 *   of at most 1024 bytes, 208,848 bytes), from airtimeGoodput; with `--kodak`, kodakSeconds: those 204
 *   fragments sent (LoRa SF7 at scale 10, SF12 at 200, E32 at 10: about 3 minutes in all), time on air and
 *   wall clock × scale (for the E32 the driver's unscaled 10 ms gap per packet is counted once, not × scale).
 * Frames are the v1 codec's (int8, test/support/frames.ts). No broker: the gateway publishes to an
 * in-memory bus, which is not what is measured. Skipped with a note when socat is absent.
 *
 *   npx tsx bench/link-serial/index.ts [--kodak]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MemoryBus } from '../../protocol/src/mqtt/index.js';
import { ModemSim, RadioGatewaySim, SerialLink, loraBitRate, type SerialModemOptions, type SimModem } from '../../link/src/index.js';
import { makeFrame } from '../../test/support/frames.js';
import { findProgram, missingMessage } from '../../test/support/programs.js';
import { socatPty } from '../../test/support/pty.js';

interface Case {
  name: string;
  sim: SimModem;
  modem: SerialModemOptions;
  phyBitsPerSecond: number;
  scale: number;
  frames: number;
}

const CIFAR_FRAME = 60 + 512;
const KODAK_BYTES = 98_304 * 2 + 204 * 60;

const cases: Case[] = [
  { name: 'lora-sf7-125', sim: { kind: 'rn2483' }, modem: { kind: 'rn2483', sf: 7, bwKhz: 125, cr: 1 }, phyBitsPerSecond: loraBitRate({ sf: 7, bwKhz: 125, cr: 1 }), scale: 10, frames: 8 },
  { name: 'lora-sf12-125', sim: { kind: 'rn2483' }, modem: { kind: 'rn2483', sf: 12, bwKhz: 125, cr: 1 }, phyBitsPerSecond: loraBitRate({ sf: 12, bwKhz: 125, cr: 1 }), scale: 200, frames: 4 },
  { name: 'e32-2400', sim: { kind: 'e32', airBitsPerSecond: 2400 }, modem: { kind: 'e32', airBitsPerSecond: 2400 }, phyBitsPerSecond: 2400, scale: 1, frames: 2 },
];

/** The 204 int8 fragments of one Kodak image at 1/12 (203 of 1024 bytes and one of 1000), sent and timed. */
async function sendKodak(c: Case, link: SerialLink, gateway: RadioGatewaySim): Promise<object> {
  const air0 = link.stats.airtimeMs;
  const packets0 = link.stats.packetsSent;
  const frames0 = gateway.stats.frames;
  const t0 = performance.now();
  for (let i = 0; i < 204; i++) await link.send([makeFrame(i < 203 ? 1024 : 1000, 1000 + i)]);
  const wall = (performance.now() - t0) / 1000;
  // An E32's send ends when its bytes are written: the module may still be sending the last packets.
  for (let i = 0; i < 100 && gateway.stats.frames - frames0 < 204; i++) await new Promise((r) => setTimeout(r, 50));
  const packets = link.stats.packetsSent - packets0;
  const gap = c.sim.kind === 'e32' ? packets * 0.01 : 0;
  return {
    bytes: 203 * 1024 + 1000,
    onAir: (link.stats.airtimeMs - air0) / 1000,
    wall: (wall - gap) * c.scale + gap,
    packets,
    framesReassembled: gateway.stats.frames - frames0,
  };
}

async function runCase(c: Case, dir: string, kodak: boolean): Promise<object> {
  const pty = await socatPty(dir, c.name, undefined);
  const bus = new MemoryBus();
  const gateway = new RadioGatewaySim({ client: bus.client(), deviceId: 'bench' });
  const scale = kodak && c.scale === 1 ? 10 : c.scale;
  c = { ...c, scale };
  const sim = await ModemSim.open({ path: `${pty.path}.peer`, modem: c.sim, airtimeScale: c.scale, onAir: (p) => gateway.hear(p) });
  const link = await SerialLink.open({ path: pty.path, modem: c.modem, airtimeScale: c.scale, responseTimeoutMs: 2000 });
  try {
    const t0 = performance.now();
    await link.send([makeFrame(CIFAR_FRAME, 0)]);
    const cifarWall = (performance.now() - t0) / 1000;
    const cifarAir = link.stats.airtimeMs / 1000;
    const t1 = performance.now();
    for (let i = 1; i <= c.frames; i++) await link.send([makeFrame(1024, i)]);
    const wall = (performance.now() - t1) / 1000;
    const s = link.stats;
    const bytes = c.frames * 1024;
    const air = s.airtimeMs / 1000 - cifarAir;
    const airtimeGoodput = bytes / air;
    return {
      scale: c.scale,
      phyBytesPerSecond: c.phyBitsPerSecond / 8,
      declaredBytesPerSecond: link.capabilities.rate?.bytesPerSecond,
      airtimeGoodput,
      airtimeShareOfPhy: airtimeGoodput / (c.phyBitsPerSecond / 8),
      wallGoodput: bytes / (wall * c.scale),
      wallShareOfPhy: bytes / (wall * c.scale) / (c.phyBitsPerSecond / 8),
      packetsSent: s.packetsSent,
      framesReassembled: gateway.stats.frames,
      cifarSeconds: { onAir: cifarAir, wall: cifarWall * c.scale },
      kodakSecondsEstimated: KODAK_BYTES / airtimeGoodput,
      ...(kodak ? { kodakSeconds: await sendKodak(c, link, gateway) } : {}),
    };
  } finally {
    await link.close();
    await sim.close();
    await pty.stop();
  }
}

export async function runLinkSerialBench(options: { kodak?: boolean } = {}): Promise<object> {
  if (findProgram('socat') === undefined) return { skipped: missingMessage('socat', 'socat') };
  const dir = await mkdtemp(join(tmpdir(), 'akb-bench-serial-'));
  try {
    const out: Record<string, object> = {};
    for (const c of cases) out[c.name] = await runCase(c, dir, options.kodak ?? false);
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await runLinkSerialBench({ kodak: process.argv.includes('--kodak') }), null, 2)}\n`);
}
