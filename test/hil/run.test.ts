/**
 * `akb hil run` end to end through the real pieces: a small sweep on the embedded broker (2 SNRs x 2
 * images x 1 variant) writes a results.json that the contract reads back, with PSNR rising with SNR; a
 * plan repeats itself; a trace through fading with loss, recorded as SigMF; the CLI as a process exits 1
 * when a threshold fails and 2 on a bad plan or a broken image; an int8 encoder the backend cannot load. A device target (on aedes and Mosquitto):
 * a real akb-edge process with the ingest source swept by id, its SNR set through channel.set on a real
 * `akb link emulate` process; an image too large for image.send and a device that never answers are
 * refused by name with exit code 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_GET_OP, topics } from '@akb/protocol';
import { connectMqtt, RpcClient, type AkbMqttClient } from '@akb/protocol/mqtt';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';
import { runHil } from '../../toolkit/src/hil/runner/run.js';
import { writeReport } from '../../toolkit/src/hil/write-report.js';
import { HilResults } from '../../toolkit/src/hil/results.js';
import { runNode } from '../support/run.js';
import { describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';

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
    writeFileSync(file, `${planText({ folder: 'out', thresholds: "thresholds:\n  - {variant: akb, snrDb: 15, metric: psnr, op: '>=', value: 20}\n" })}digital: true\n`);
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
    // The JPEG-at-capacity rows at the variant's 256 uses per image, better with more capacity.
    expect(back.digital.map((d) => [d.channel, d.snrDb, d.channelUses, d.n])).toEqual([['awgn', -2, 256, 2], ['awgn', 15, 256, 2]]);
    expect(back.digital[1]!.psnrMean!).toBeGreaterThan(back.digital[0]!.psnrMean!);
    expect(back.timeline).toHaveLength(4);
    expect(back.timeline[0]).toMatchObject({ actionId: 7, channelUses: 256, powerDb: 0 });
    for (const stage of ['rigStart', 'channelSet', 'encode', 'decode', 'metrics', 'total']) expect(back.stagesMs[stage]).toBeGreaterThan(0);
    expect(samples.length).toBeGreaterThan(0);
    const csv = readFileSync(join(dir, 'out/points.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[0]).toMatch(/^variant,channel,snr_db,rep,image,psnr,ssim,/);
    expect(readFileSync(join(dir, 'out/report.html'), 'utf8')).toMatch(/<h1[^>]*>small<\/h1>/);
  });

  it('repeats itself: the same plan and seed give the same points (channel draws keyed by channel, not process)', async () => {
    const dir = tmp();
    const file = join(dir, 'plan.yaml');
    writeFileSync(file, planText({ folder: 'out' }).replace('  - kind: awgn', '  - kind: rayleigh'));
    const a = await runHil(await loadPlan(file, { defaultZoo: zoo }));
    const b = await runHil(await loadPlan(file, { defaultZoo: zoo }));
    expect(b.results.points.map((p) => p.psnr)).toEqual(a.results.points.map((p) => p.psnr));
    writeFileSync(file, `${planText({ folder: 'out' }).replace('  - kind: awgn', '  - kind: rayleigh')}seed: 2\n`);
    const c = await runHil(await loadPlan(file, { defaultZoo: zoo }));
    expect(c.results.points.map((p) => p.psnr)).not.toEqual(a.results.points.map((p) => p.psnr));
  });

  it('follows an SNR trace through Gauss-Markov fading with loss, recording SigMF', async () => {
    const dir = tmp();
    const file = join(dir, 'plan.yaml');
    const text = planText({ folder: 'out' })
      .replace('  - kind: awgn', '  - {id: walk, kind: gauss-markov, dopplerHz: 5, loss: {p: 0.05, r: 0.5, lossBad: 0.5, lossGood: 0.01}}')
      .replace('snrDb: [-2, 15]', 'trace: {points: [{timeMs: 0, snrDb: -2}, {timeMs: 400, snrDb: 15}]}')
      .replace('  images: 2', '  images: 2\n  sigmf: true');
    writeFileSync(file, `${text}repetitions: 3\n`);
    const { results, samples, folder } = await runHil(await loadPlan(file, { defaultZoo: zoo }));
    await writeReport(folder, results, samples);
    expect(results.channels).toEqual([{ id: 'walk', label: 'Gauss-Markov 5 Hz, G-E loss', kind: 'trace' }]);
    expect(results.snrsDb).toEqual([-2, 15]);
    expect(results.points).toHaveLength(6);
    // The first image goes at the trace's start; every SNR set is on the 0.5 dB steps within the trace.
    expect(results.points[0]!.snrDb).toBe(-2);
    for (const p of results.points) {
      expect(Number.isInteger(2 * p.snrDb) && p.snrDb >= -2 && p.snrDb <= 15).toBe(true);
    }
    const meta = JSON.parse(readFileSync(join(dir, 'out/sigmf/akb-walk.sigmf-meta'), 'utf8')) as { annotations: unknown[] };
    expect(meta.annotations.length).toBeGreaterThan(0);
    expect(statSync(join(dir, 'out/sigmf/akb-walk.sigmf-data')).size).toBeGreaterThan(0);
  });

  it('an int8 encoder the backend cannot load is PRECISION_UNSUPPORTED (exit code 2), naming the set', async () => {
    const dir = tmp();
    const file = join(dir, 'plan.yaml');
    writeFileSync(file, planText({ folder: 'out', variant: 'id: q\n    set: deepjscc-r12-adaptive\n    precision: int8' }));
    const loaded = await loadPlan(file, { defaultZoo: zoo });
    // Stand in the cache a "quantized" encoder whose bytes match its card but are no ONNX model at all.
    const enc = join(zoo, 'deepjscc-r12-adaptive-enc');
    const cache = join(dir, 'out/models/deepjscc-r12-adaptive-enc-int8');
    mkdirSync(cache, { recursive: true });
    const bytes = Buffer.from('not an onnx model');
    const card = JSON.parse(readFileSync(join(enc, 'card.json'), 'utf8')) as { onnx: { sha256: string; sizeBytes: number } };
    card.onnx.sha256 = createHash('sha256').update(bytes).digest('hex');
    card.onnx.sizeBytes = bytes.length;
    writeFileSync(join(cache, 'model.onnx'), bytes);
    writeFileSync(join(cache, 'card.json'), JSON.stringify(card));
    const floatSha = (JSON.parse(readFileSync(join(enc, 'card.json'), 'utf8')) as { onnx: { sha256: string } }).onnx.sha256;
    const names = readdirSync(cifar).sort().slice(0, 2);
    writeFileSync(join(cache, 'cache-key'), `${createHash('sha256').update(`${floatSha}\nint8\n${names.join('\n')}`).digest('hex')}\n`);
    await expect(runHil(loaded)).rejects.toMatchObject({
      code: 'PRECISION_UNSUPPORTED',
      exitCode: 2,
      message: expect.stringMatching(/^deepjscc-r12-adaptive at int8: the inference backend cannot load the int8 encoder \(no inference backend could load/) as unknown,
    });
  });

  it('as a process: a threshold that cannot hold exits 1 with one line naming it; a bad plan or a broken image exits 2', async () => {
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

    // A truncated JPEG among the images: refused by name before the sweep.
    const images = join(dir, 'images');
    mkdirSync(images);
    writeFileSync(join(images, 'a.jpg'), readFileSync(join(cifar, '00000-airplane.jpg')).subarray(0, 300));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, planText({ folder: 'out' }).replace(`folder: ${cifar}`, `folder: ${images}`));
    const unreadable = await runNode([akb, 'hil', 'run', broken, '--no-progress']);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^akb: .*images\/a\.jpg: corrupt JPEG/)]);
  });
});

describeBrokers('akb hil run: a device target by id', (kind) => {
  let broker: BrokerHandle;
  const children: ChildProcess[] = [];
  const clients: AkbMqttClient[] = [];
  let emulatorLog = () => '';
  const device = uniqueId('cam');

  /** Starts a process and resolves once its output matches `ready`. */
  async function start(args: string[], ready: RegExp): Promise<() => string> {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        if (ready.test(out)) resolve();
      });
      child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${out}`)));
    });
    return () => out;
  }

  beforeAll(async () => {
    broker = await kind.start();
    // The already running emulator of a lab: every device's frames, channel.set/get on link/ctl/req.
    emulatorLog = await start([akb, 'link', 'emulate', '--broker', broker.url, '--snr', '10', '--keep-order'], /Ctrl-C stops/);
    await start(
      [join(root, 'runtime-edge/dist/main.js'), '--broker', broker.url, '--device', device, '--models', zoo, '--set', 'akb-k256', '--policy', 'fixed:7', '--epsilon', '0', '--ingest', '--link', 'mqtt'],
      /online at/,
    );
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())))));
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
    // The emulator ended pinned at the last SNR of the grid, set by the runner's channel.set.
    const tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
    clients.push(tool);
    const rpc = new RpcClient(tool, { requestTopic: topics.linkCtlReq(), replyTopic: topics.linkCtlRes('t-check'), from: 't-check' });
    expect(await rpc.request(CHANNEL_GET_OP, { device })).toEqual({ default: { snrDb: null }, devices: [{ device, snrDb: 15, pinned: true }] });
    expect(emulatorLog()).toMatch(new RegExp(`SNR of ${device} set to -2 dB by akb-hil-\\d+`));
  });

  it('refuses, before the sweep, an image too large for one image.send', async () => {
    const dir = tmp();
    const file = join(dir, 'plan.yaml');
    // A Kodak PNG (786 KB): over the 256 KiB request once in base64.
    const text = planText({ folder: 'out', broker: broker.url, targets: `[{device: ${device}}]` }).replace(`folder: ${cifar}\n  limit: 2`, `files: [${join(root, 'models/samples/kodak/kodim05.png')}]`);
    writeFileSync(file, text);
    await expect(runHil(await loadPlan(file, { defaultZoo: zoo }))).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE', exitCode: 2, message: expect.stringMatching(/kodim05\.png: \d+ bytes cannot go to a device in one image\.send/) as unknown });
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
