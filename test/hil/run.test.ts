/**
 * `akb hil run` end to end through the real pieces: a small sweep on the embedded broker (2 SNRs x 2
 * images x 1 variant) writes a results.json that the contract reads back, with PSNR rising with SNR; the
 * CLI as a process exits 1 when a threshold fails (and 2 on a bad plan); a device target: a real akb-edge
 * process with the ingest source, its frames through a channel emulator with channel control, swept by
 * id; a device that never answers is refused by name with exit code 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { ChannelControl, ChannelEmulator, channelFactory } from '@akb/link';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';
import { runHil } from '../../toolkit/src/hil/runner/run.js';
import { writeReport } from '../../toolkit/src/hil/write-report.js';
import { HilResults } from '../../toolkit/src/hil/results.js';
import { runNode } from '../support/run.js';
import { startAedes, uniqueId, type BrokerHandle } from '../support/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const akb = join(root, 'toolkit/bin/akb.js');
const zoo = join(root, 'models/zoo');
const cifar = join(root, 'models/samples/cifar10-test');

function planText(o: { folder: string; broker?: string; targets?: string; thresholds?: string; variant?: string }): string {
  return `name: small
broker: ${o.broker ?? 'embedded'}
targets: ${o.targets ?? '[local]'}
channels:
  - kind: awgn
snrDb: [-2, 15]
images:
  folder: ${cifar}
  limit: 2
variants:
  - ${o.variant ?? 'id: akb\n    set: akb-k256\n    policy: fixed:7'}
report:
  folder: ${o.folder}
  images: 2
${o.thresholds ?? ''}`;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'akb-hil-'));
}

describe('akb hil run: local target on the embedded broker', () => {
  it('sweeps 2 SNRs x 2 images into results that the contract reads back, PSNR rising with SNR', async () => {
    const dir = tmp();
    const file = join(dir, 'plan.yaml');
    writeFileSync(file, planText({ folder: 'out', thresholds: "thresholds:\n  - {variant: akb, snrDb: 15, metric: psnr, op: '>=', value: 20}\n" }));
    const loaded = await loadPlan(file, { defaultZoo: zoo });
    const { results, samples, folder } = await runHil(loaded);
    await writeReport(folder, results, samples);

    const back = HilResults.parse(JSON.parse(readFileSync(join(dir, 'out/results.json'), 'utf8')));
    expect(back.points).toHaveLength(4);
    expect(back.points.every((p) => p.complete && p.channelUses === 256 && p.tiles === 1 && p.actions['7'] === 1)).toBe(true);
    const mean = (snr: number): number => {
      const ps = back.points.filter((p) => p.snrDb === snr).map((p) => p.psnr!);
      return ps.reduce((a, b) => a + b, 0) / ps.length;
    };
    expect(mean(15)).toBeGreaterThan(mean(-2) + 3);
    expect(back.summary.map((s) => [s.snrDb, s.n])).toEqual([[-2, 2], [15, 2]]);
    expect(back.summary[1]!.ssimMean!).toBeGreaterThan(back.summary[0]!.ssimMean!);
    expect(back.thresholds).toEqual([expect.objectContaining({ metric: 'psnr', pass: true })]);
    expect(back.passed).toBe(true);
    expect(back.timeline).toHaveLength(4);
    expect(back.timeline[0]).toMatchObject({ actionId: 7, channelUses: 256, powerDb: 0 });
    for (const stage of ['rigStart', 'channelSet', 'encode', 'decode', 'metrics', 'total']) expect(back.stagesMs[stage]).toBeGreaterThan(0);
    expect(samples.length).toBeGreaterThan(0);
    const csv = readFileSync(join(dir, 'out/points.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[0]).toMatch(/^variant,channel,snr_db,rep,image,psnr,ssim,/);
    expect(readFileSync(join(dir, 'out/report.html'), 'utf8')).toMatch(/<h1[^>]*>small<\/h1>/);
  });

  it('as a process: a threshold that cannot hold exits 1 with one line naming it; a bad plan exits 2', async () => {
    const dir = tmp();
    const file = join(dir, 'plan.yaml');
    // PSNR of 99 dB over a noisy channel: cannot hold.
    writeFileSync(file, planText({ folder: 'out', thresholds: "thresholds:\n  - {variant: akb, metric: psnr, op: '>=', value: 99}\n" }));
    const failed = await runNode([akb, 'hil', 'run', file, '--no-progress']);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^akb: 1 of 1 thresholds failed: akb psnr >= 99 \(see .*out\/report\.html\)$/)]);
    expect(failed.stdout).toMatch(/FAIL {2}akb psnr >= 99 \(measured \d+\.\d+\)/);
    expect(HilResults.parse(JSON.parse(readFileSync(join(dir, 'out/results.json'), 'utf8'))).passed).toBe(false);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, planText({ folder: 'out' }).replace('snrDb: [-2, 15]', 'snrDb: [-2, 1000]'));
    const refused = await runNode([akb, 'hil', 'run', bad, '--no-progress']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^akb: bad\.yaml:6: snrDb\[1\]: an SNR must be at most 60 dB \(/)]);
  });
});

describe('akb hil run: a device target by id', () => {
  let broker: BrokerHandle;
  let edge: ChildProcess | undefined;
  const clients: AkbMqttClient[] = [];
  let emulator: ChannelEmulator;
  let control: ChannelControl;
  const device = uniqueId('cam');

  beforeAll(async () => {
    broker = await startAedes();
    // The "already running akb link emulate": every device's frames, channel control on link/ctl/req.
    const emu = await connectMqtt({ url: broker.url, clientId: uniqueId('emu') });
    clients.push(emu);
    emulator = await ChannelEmulator.start({ client: emu, keepOrder: true, channelFor: channelFactory({ snr: { kind: 'constant', snrDb: 10 } }, 5) });
    control = await ChannelControl.start({ client: emu, emulator });
    edge = spawn(process.execPath, [join(root, 'runtime-edge/dist/main.js'), '--broker', broker.url, '--device', device, '--models', zoo, '--set', 'akb-k256', '--policy', 'fixed:7', '--epsilon', '0', '--ingest', '--link', 'mqtt'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      edge!.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        if (/online at/.test(out)) resolve();
      });
      edge!.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      edge!.once('exit', (code) => reject(new Error(`akb-edge exited with ${code}: ${out}`)));
    });
  });
  afterAll(async () => {
    edge?.kill('SIGTERM');
    await control?.stop().catch(() => undefined);
    await emulator?.stop();
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
    await broker?.close();
  });

  it('pings it, sends image.send, sets its SNR through channel.set and decodes what arrives', async () => {
    const dir = tmp();
    const file = join(dir, 'plan.yaml');
    writeFileSync(file, planText({ folder: 'out', broker: broker.url, targets: `[{device: ${device}, pingTimeoutMs: 5000}]` }));
    const { results } = await runHil(await loadPlan(file, { defaultZoo: zoo }));
    expect(results.variants).toEqual([expect.objectContaining({ id: 'akb', target: device })]);
    expect(results.points).toHaveLength(4);
    expect(results.points.every((p) => p.complete && p.channelUses === 256 && p.psnr !== null)).toBe(true);
    const at = (snr: number): number => results.points.filter((p) => p.snrDb === snr).reduce((a, p) => a + p.psnr!, 0) / 2;
    expect(at(15)).toBeGreaterThan(at(-2) + 3);
    // The emulator ended pinned at the last SNR of the grid.
    expect(emulator.snrState(device).devices).toEqual([{ device, snrDb: 15, pinned: true }]);
  });

  it('a device that never answers: one line naming it, exit code 2', async () => {
    const dir = tmp();
    const file = join(dir, 'plan.yaml');
    writeFileSync(file, planText({ folder: 'out', broker: broker.url, targets: '[{device: ghost-7, pingTimeoutMs: 300}]' }));
    const r = await runNode([akb, 'hil', 'run', file, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^akb: device ghost-7 did not answer a ping on akb\/v1\/dev\/ghost-7\/cmd\/req within 300 ms \(start akb-edge/)]);
  });
});
