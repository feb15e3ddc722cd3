/**
 * `akb hil run` over the real links, not the emulator alone: sdr-udp through the Node IQ relay (real UDP:
 * SdrUdpLink → IqRelay → SdrUdpGateway → link/rx) and serial through the modem simulator (real socat ptys:
 * SerialLink → ModemSim → RadioGatewaySim → the emulator → link/rx), RN2483 LoRa SF7 and E32, sped up
 * with airtimeScale. Every image is decoded, PSNR rises with SNR, the SNR reached the IQ channel (the
 * gateway's estimate follows it), and a digital modem, which carries the int8 symbols bit-exact, gives the
 * emulated link's figures within 0.2 dB (the same seeded channel draws after it; int8 quantization only).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';
import { runHil } from '../../toolkit/src/hil/runner/run.js';
import { writeReport } from '../../toolkit/src/hil/write-report.js';
import { HilResults } from '../../toolkit/src/hil/results.js';
import { describeWithProgram } from '../support/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const zoo = join(root, 'models/zoo');
const cifar = join(root, 'models/samples/cifar10-test');
const SNRS = [3, 20];
const IMAGES = 4;

async function run(link: string): Promise<HilResults> {
  const dir = mkdtempSync(join(tmpdir(), 'akb-hil-link-'));
  const file = join(dir, 'plan.yaml');
  writeFileSync(file, `name: link run
channels:
  - kind: awgn
snrDb: [${SNRS.join(', ')}]
images:
  folder: ${cifar}
  limit: ${IMAGES}
variants:
  - id: akb
    set: akb-k256
    policy: fixed:7
report:
  folder: out
  images: 1
${link}`);
  const { results, samples, folder } = await runHil(await loadPlan(file, { defaultZoo: zoo }));
  await writeReport(folder, results, samples);
  return HilResults.parse(JSON.parse(readFileSync(join(folder, 'results.json'), 'utf8')));
}

function meanPsnr(r: HilResults, snrDb: number): number {
  const ps = r.points.filter((p) => p.snrDb === snrDb).map((p) => p.psnr!);
  return ps.reduce((a, b) => a + b, 0) / ps.length;
}

/** Every image decoded whole, PSNR sane and rising with SNR. */
function expectSane(r: HilResults): void {
  expect(r.points).toHaveLength(SNRS.length * IMAGES);
  for (const p of r.points) {
    expect(p.complete).toBe(true);
    expect(p.tilesDecoded).toBe(p.tiles);
    expect(p.psnr).toBeGreaterThan(15);
    expect(p.psnr).toBeLessThan(45);
  }
  expect(meanPsnr(r, 20)).toBeGreaterThan(meanPsnr(r, 3) + 2);
}

describe('akb hil run: link sdr-udp through the Node IQ relay', () => {
  it('decodes every image; the gateway finds every burst and estimates the SNR channel.set gave the relay', async () => {
    const r = await run('link: {driver: sdr-udp, channel: node, freqOffset: 0.0007}\n');
    expectSane(r);
    expect(r.link).toEqual({ driver: 'sdr-udp', channel: 'node', sampleRateHz: 1e6, freqOffset: 0.0007 });
    expect(r.links?.map((l) => [l.snrDb, l.images, l.sdr?.bursts, l.sdr?.missing])).toEqual(SNRS.map((s) => [s, IMAGES, IMAGES, 0]));
    for (const l of r.links!) expect(Math.abs(l.sdr!.snrEstimateMeanDb! - l.snrDb!)).toBeLessThan(1.5);
    console.log(JSON.stringify({ link: 'sdr-udp/node', psnr: Object.fromEntries(SNRS.map((s) => [s, +meanPsnr(r, s).toFixed(2)])), gateway: r.links }));
    const html = readFileSync(join(r.plan.file, '../out/report.html'), 'utf8');
    expect(html).toContain('link sdr-udp through an IQ relay in Node at 1000000 samples/s');
    expect(html).toContain('id="link"');
  }, 120_000);
});

describeWithProgram('socat', 'socat', 'akb hil run: link serial through the modem simulator on a pty', () => {
  let emulated: HilResults | undefined;
  const againstEmulated = async (r: HilResults): Promise<void> => {
    emulated ??= await run('');
    for (const s of SNRS) expect(Math.abs(meanPsnr(r, s) - meanPsnr(emulated, s))).toBeLessThan(0.2);
  };

  it('RN2483 SF7 (time on air / 50): every image decoded, airtime and packets recorded, the emulated figures', async () => {
    const r = await run('link:\n  driver: serial\n  modem: {kind: rn2483, sf: 7}\n  airtimeScale: 50\n');
    expectSane(r);
    expect(r.link).toEqual({ driver: 'serial', modem: 'rn2483 SF7 125 kHz CR 4/5', airtimeScale: 50, dutyCycle: 1 });
    for (const l of r.links!) {
      // A 256-use AKB image in int8 is one frame of ~540 bytes: 3 LoRa packets of at most 255 bytes.
      expect(l.serial).toMatchObject({ packetsSent: 3 * IMAGES, packetsLost: 0, packetsRetried: 0 });
      expect(l.serial!.airtimeMs).toBeGreaterThan(3 * IMAGES * 100);
    }
    await againstEmulated(r);
    console.log(JSON.stringify({ link: 'serial/rn2483', psnr: Object.fromEntries(SNRS.map((s) => [s, +meanPsnr(r, s).toFixed(2)])), radio: r.links }));
  }, 120_000);

  it('E32 at 19,200 bit/s (time on air / 50): every image decoded, the emulated figures', async () => {
    const r = await run('link:\n  driver: serial\n  modem: {kind: e32, airBitsPerSecond: 19200}\n  airtimeScale: 50\n');
    expectSane(r);
    for (const l of r.links!) expect(l.serial).toMatchObject({ packetsLost: 0 });
    expect(r.links!.every((l) => l.serial!.packetsSent >= IMAGES * 10)).toBe(true);
    await againstEmulated(r);
    console.log(JSON.stringify({ link: 'serial/e32', psnr: Object.fromEntries(SNRS.map((s) => [s, +meanPsnr(r, s).toFixed(2)])), radio: r.links }));
  }, 120_000);
});
