/**
 * The plan's `link` field: the default is the emulated link; sdr-udp and serial plans load with their
 * defaults; bad links are refused with the file, the line and the field (exit code 2): an unknown field, a
 * channel other than plain AWGN under sdr-udp (the IQ path is the channel), taps without GNU Radio, SigMF
 * under sdr-udp, a LoRa spreading factor outside 7-12, an unknown driver. The report's header names the link.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';
import { linkInfo } from '../../toolkit/src/hil/runner/run.js';
import { linkText } from '../../toolkit/src/hil/report/link.js';
import { HilResults } from '../../toolkit/src/hil/results.js';
import { fixtureResults } from './report-fixture.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const zoo = join(root, 'models/zoo');
const cifar = join(root, 'models/samples/cifar10-test');
const dir = mkdtempSync(join(tmpdir(), 'akb-link-plan-'));

function plan(link: string, channels = '  - kind: awgn'): string {
  return `name: t
channels:
${channels}
snrDb: [0, 5]
images:
  folder: ${cifar}
  limit: 2
variants:
  - id: akb
    set: akb-k256
report:
  folder: out
${link}`;
}

let n = 0;
async function load(text: string): ReturnType<typeof loadPlan> {
  const file = join(dir, `p${n++}.yaml`);
  writeFileSync(file, text);
  return loadPlan(file, { defaultZoo: zoo });
}

async function refusal(text: string): Promise<string> {
  try {
    await load(text);
  } catch (e) {
    expect((e as { exitCode?: number }).exitCode).toBe(2);
    return (e as Error).message.replace(/^p\d+\.yaml/, 'plan.yaml');
  }
  throw new Error('the plan was accepted');
}

describe('hil plan: link', () => {
  it('defaults to the emulated link, and fills the defaults of sdr-udp and serial', async () => {
    expect((await load(plan(''))).plan.link).toEqual({ driver: 'emulated' });
    const sdr = await load(plan('link: {driver: sdr-udp, channel: gnuradio, taps: [[1, 0], [0, 0.2]]}\n'));
    expect(sdr.plan.link).toEqual({ driver: 'sdr-udp', channel: 'gnuradio', freqOffset: 0, taps: [[1, 0], [0, 0.2]] });
    expect(linkInfo(sdr.plan.link)).toEqual({ driver: 'sdr-udp', channel: 'gnuradio', sampleRateHz: 2e4, freqOffset: 0, taps: [[1, 0], [0, 0.2]] });
    expect(linkInfo((await load(plan('link: {driver: sdr-udp, channel: node}\n'))).plan.link)).toMatchObject({ sampleRateHz: 1e6 });
    const serial = await load(plan('link:\n  driver: serial\n  modem: {kind: rn2483, sf: 7}\n  airtimeScale: 50\n'));
    expect(serial.plan.link).toEqual({ driver: 'serial', modem: { kind: 'rn2483', sf: 7, bwKhz: 125, cr: 1 }, airtimeScale: 50, dutyCycle: 1 });
    expect(linkInfo(serial.plan.link)).toEqual({ driver: 'serial', modem: 'rn2483 SF7 125 kHz CR 4/5', airtimeScale: 50, dutyCycle: 1 });
    const e32 = await load(plan('link: {driver: serial, modem: {kind: e32, airBitsPerSecond: 2400, packetBytes: 58}}\n'));
    expect(linkInfo(e32.plan.link)).toMatchObject({ modem: 'e32 2400 bit/s, 58-byte packets' });
  });

  it('refuses an unknown link field, naming its line', async () => {
    expect(await refusal(plan('link:\n  driver: sdr-udp\n  channel: node\n  gain: 3\n'))).toBe('plan.yaml:16: link.gain: unknown field');
    expect(await refusal(plan('link:\n  driver: serial\n  modem: {kind: e32, airBitsPerSecond: 2400, sf: 7}\n'))).toBe('plan.yaml:15: link.modem.sf: unknown field');
  });

  it('refuses a channel other than plain AWGN under sdr-udp, naming the channel', async () => {
    const rayleigh = plan('link: {driver: sdr-udp, channel: gnuradio}\n', '  - kind: awgn\n  - kind: rayleigh');
    expect(await refusal(rayleigh)).toBe('plan.yaml:4: channels[1].kind: link sdr-udp is the channel itself: every channel must be awgn, not rayleigh');
    const lossy = plan('link: {driver: sdr-udp, channel: node}\n', '  - kind: awgn\n    loss: {p: 0.1, r: 0.5, lossBad: 1, lossGood: 0}');
    expect(await refusal(lossy)).toBe('plan.yaml:4: channels[0].loss: link sdr-udp is the channel itself: no loss model on top of it');
  });

  it('refuses taps without GNU Radio, SigMF under sdr-udp, a bad spreading factor and an unknown driver', async () => {
    expect(await refusal(plan('link:\n  driver: sdr-udp\n  channel: node\n  taps: [[1, 0]]\n'))).toBe('plan.yaml:16: link.taps: taps need channel gnuradio (the Node relay has no multipath)');
    expect(await refusal(plan('link: {driver: sdr-udp, channel: node}\n').replace('  folder: out\n', '  folder: out\n  sigmf: true\n'))).toMatch(/^plan\.yaml:13: report\.sigmf: link sdr-udp records no SigMF/);
    expect(await refusal(plan('link:\n  driver: serial\n  modem: {kind: rn2483, sf: 13}\n'))).toBe('plan.yaml:15: link.modem.sf: expected a spreading factor 7 to 12');
    expect(await refusal(plan('link:\n  driver: serial\n  modem: {kind: rn2483, sf: 7, bwKhz: 200}\n'))).toBe('plan.yaml:15: link.modem.bwKhz: expected 125, 250 or 500 kHz');
    expect(await refusal(plan('link:\n  driver: lora\n'))).toBe('plan.yaml:14: link.driver: expected driver emulated, sdr-udp or serial');
    expect(await refusal(plan('link: {driver: sdr-udp, channel: node, freqOffset: 0.01}\n'))).toMatch(/^plan\.yaml:13: link\.freqOffset: /);
  });

  it('results without a link still load and read as emulated; the header names the link', () => {
    const old = HilResults.parse(fixtureResults());
    expect(old.link).toBeUndefined();
    expect(linkText(old)).toBe('link emulated (channel emulator)');
    expect(linkText({ ...old, link: { driver: 'sdr-udp', channel: 'gnuradio', sampleRateHz: 2e4, freqOffset: 0 } })).toBe(
      'link sdr-udp through GNU Radio channel_model at 20000 samples/s, frequency offset 0 cycles/sample',
    );
  });
});
