/**
 * `akb hil run`: a plan becomes a sweep becomes a report folder. Phases, each timed into `stagesMs`:
 *
 *   broker     the embedded aedes on a free port, or the plan's broker URL
 *   devices    every device target answers a ping (else DEVICE_SILENT, exit code 2) before anything else
 *   load       images, model sets; quantize (int8/fp16 encoders, cached under <report>/models/)
 *   sweep      target × variant × channel: one rig each (rigStart); per SNR one channel.set (channelSet),
 *              then repetition × image through edge → emulator → cloud (the points' stages: encode,
 *              policy, send, channel, decode), metrics (PSNR, SSIM against the originals), feedbackWait
 *              (a learned policy's next image waits for this one's feedback)
 *   digital    the JPEG-at-capacity baseline at the same channel uses and SNRs (plan `digital: true`)
 *   write      results.json, points.csv, summary.csv, report.html; findings (findings.ts) when variants have roles
 */
import { join, resolve } from 'node:path';
import { hostname, cpus } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { psnr as psnrOf, ssim as ssimOf, type ModelSet, type RgbImage } from '@akb/jscc';
import { SigmfRecorder } from '@akb/link';
import { AkbError, MAX_MESSAGE_BYTES } from '@akb/protocol';
import type { LoadedPlan } from '../plan-load.js';
import type { ChannelPlan, DeviceTarget, HilPlan } from '../plan.js';
import { loadPlanImages, type PlanImage } from '../images.js';
import { loadVariantSet, precisionError } from '../models.js';
import { evaluateThresholds, summarize } from '../stats.js';
import { paperFindings } from '../findings.js';
import { RESULTS_VERSION, type HilPoint, type HilResults, type HilVariant, type TimelinePoint } from '../results.js';
import { silentProgress, type Progress } from '../progress.js';
import { startLocalRig } from './local.js';
import { startDeviceRig, pingDevice } from './device.js';
import { digitalRows } from './digital.js';
import type { Rig, RigSend } from './rig.js';

export interface HilRunOptions {
  progress?: Progress;
  /** Told of each point as it is measured. */
  onPoint?: (p: HilPoint) => void;
}

/** A reconstruction kept for the report, beside its original. */
export interface HilSample {
  variant: string;
  channel: string;
  snrDb: number;
  image: string;
  psnr: number | null;
  original: RgbImage;
  reconstruction: RgbImage;
}

export interface HilRun {
  results: HilResults;
  samples: HilSample[];
  folder: string;
}

type Variant = LoadedPlan['variants'][number];

class Stopwatch {
  readonly ms: Record<string, number> = {};
  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(stage, performance.now() - t0);
    }
  }
  add(stage: string, ms: number): void {
    this.ms[stage] = (this.ms[stage] ?? 0) + ms;
  }
}

export async function runHil(loaded: LoadedPlan, options: HilRunOptions = {}): Promise<HilRun> {
  const { plan } = loaded;
  const progress = options.progress ?? silentProgress;
  const folder = resolve(loaded.dir, plan.report.folder);
  const watch = new Stopwatch();
  const startedAt = new Date();
  const t0 = performance.now();
  await mkdir(folder, { recursive: true });

  const broker = plan.broker === 'embedded' ? await watch.time('broker', async () => (await import('../../broker/embedded.js')).startEmbeddedBroker()) : undefined;
  const url = broker?.url ?? plan.broker;
  try {
    const devices = plan.targets.filter((t): t is DeviceTarget => t !== 'local');
    if (devices.length > 0) await watch.time('devices', () => pingAll(url, devices, progress));

    progress.phase(`loading images and ${loaded.variants.length} model set${loaded.variants.length === 1 ? '' : 's'}`);
    const images = await watch.time('load', () => loadPlanImages(plan.images, loaded.dir));
    if (devices.length > 0) checkSendable(images);
    const references = new Map(images.map((i) => [i.name, i.image]));
    const sets = new Map<string, ModelSet>();
    for (const v of loaded.variants) {
      const stage = v.precision === 'float' ? 'load' : 'quantize';
      const calib = plan.images.folder ? resolve(loaded.dir, plan.images.folder) : resolve(images[0]!.path, '..');
      sets.set(v.id, await watch.time(stage, () =>
        loadVariantSet({ zoo: loaded.zoo, set: v.set, precision: v.precision, cacheDir: join(folder, 'models'), calib, calibNames: images.map((i) => i.name), calibImages: images.map((i) => i.image), onProgress: (p) => progress.phase(p) }),
      ));
    }

    if (plan.report.sigmf) await mkdir(join(folder, 'sigmf'), { recursive: true });
    const sweep = new Sweep(loaded, images, references, sets, url, folder, watch, progress, options.onPoint);
    await sweep.run();

    const digital = plan.digital ? await watch.time('digital', () => digitalRows(loaded, images, sweep.points)) : [];
    const summary = summarize(sweep.points);
    const thresholds = evaluateThresholds(loaded, sweep.points, (id) => sweep.planVariant.get(id) ?? id);
    watch.add('total', performance.now() - t0);
    const results: HilResults = {
      format: 'akb-hil-results',
      version: RESULTS_VERSION,
      plan: { name: plan.name, ...(plan.description === undefined ? {} : { description: plan.description }), file: loaded.file, sha256: loaded.sha256 },
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { host: hostname().slice(0, 512), cpu: (cpus()[0]?.model ?? 'unknown').slice(0, 512), cores: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
      variants: sweep.variants,
      channels: loaded.channels.map((c) => ({ id: c.id, label: c.label ?? channelLabel(c), kind: plan.trace ? 'trace' : c.kind })),
      snrsDb: loaded.snrsDb,
      points: sweep.points,
      summary,
      digital,
      timeline: sweep.timeline,
      stagesMs: Object.fromEntries(Object.entries(watch.ms).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      thresholds,
      findings: [],
      passed: thresholds.every((t) => t.pass),
    };
    // The paper's comparison in words, when the plan declares roles (hil/plans/paper.yaml).
    if (results.variants.some((v) => v.role !== undefined)) results.findings = paperFindings(results).slice(0, 256);
    return { results, samples: sweep.samples, folder };
  } finally {
    await broker?.close();
  }
}

async function pingAll(url: string, devices: DeviceTarget[], progress: Progress): Promise<void> {
  const { connectMqtt, RpcClient } = await import('@akb/protocol/mqtt');
  const { topics } = await import('@akb/protocol');
  progress.phase(`pinging ${devices.map((d) => d.device).join(', ')}`);
  const client = await connectMqtt({ url, clientId: `akb-hil-ping-${process.pid}` });
  try {
    await Promise.all(
      devices.map((d) => pingDevice(new RpcClient(client, { requestTopic: topics.cmdReq(d.device), replyTopic: topics.cmdRes(d.device), from: `akb-hil-${process.pid}` }), d.device, d.pingTimeoutMs)),
    );
  } finally {
    await client.close({ force: true });
  }
}

/** image.send carries an image as base64 in one request of at most MAX_MESSAGE_BYTES: refuse larger files before the sweep. */
function checkSendable(images: readonly PlanImage[]): void {
  const envelope = 1024;
  for (const img of images) {
    if (4 * Math.ceil(img.bytes.length / 3) + envelope > MAX_MESSAGE_BYTES) {
      throw new AkbError('IMAGE_TOO_LARGE', `${img.path}: ${img.bytes.length} bytes cannot go to a device in one image.send (a request is at most ${MAX_MESSAGE_BYTES} bytes, base64 included)`, {
        hint: `use images of at most ${Math.floor(((MAX_MESSAGE_BYTES - envelope) / 4) * 3)} bytes for device targets (e.g. JPEG), or a local target`,
        exitCode: 2,
      });
    }
  }
}

export function channelLabel(c: ChannelPlan): string {
  const base = c.kind === 'awgn' ? 'AWGN' : c.kind === 'rician' ? `Rician K=${c.kFactor}` : c.kind === 'gauss-markov' ? `Gauss-Markov ${c.dopplerHz} Hz` : 'Rayleigh';
  return c.loss ? `${base}, G-E loss` : base;
}

function variantLabel(v: Variant, set: ModelSet): string {
  const name = set.kind === 'akb' ? `AKB-JSCC (${v.set})` : `Deep JSCC (${v.set})`;
  return [name, v.precision, set.kind === 'akb' && v.kb === 'off' ? 'no source KB' : '', v.policy].filter(Boolean).join(', ');
}

/** The sweep proper; its state (points, timeline, samples) is what the results are made of. */
class Sweep {
  readonly points: HilPoint[] = [];
  readonly timeline: TimelinePoint[] = [];
  readonly samples: HilSample[] = [];
  readonly variants: HilVariant[] = [];
  /** Results variant id → the plan's variant id. */
  readonly planVariant = new Map<string, string>();
  private readonly started = performance.now();
  private done = 0;
  private readonly total: number;
  private readonly plan: HilPlan;

  constructor(
    private readonly loaded: LoadedPlan,
    private readonly images: PlanImage[],
    private readonly references: ReadonlyMap<string, RgbImage>,
    private readonly sets: ReadonlyMap<string, ModelSet>,
    private readonly url: string,
    private readonly folder: string,
    private readonly watch: Stopwatch,
    private readonly progress: Progress,
    private readonly onPoint: ((p: HilPoint) => void) | undefined,
  ) {
    this.plan = loaded.plan;
    const perRig = loaded.plan.trace ? images.length * loaded.plan.repetitions : loaded.snrsDb.length * loaded.plan.repetitions * images.length;
    this.total = perRig * loaded.variants.length * loaded.channels.length * loaded.plan.targets.length;
  }

  async run(): Promise<void> {
    this.progress.phase(`sweeping ${this.total} images (${this.loaded.variants.length} variants × ${this.loaded.channels.length} channels × ${this.plan.trace ? 'trace' : `${this.loaded.snrsDb.length} SNRs`} × ${this.plan.repetitions} repetitions × ${this.images.length} images × ${this.plan.targets.length} targets)`);
    for (const [ti, target] of this.plan.targets.entries()) {
      for (const [vi, v] of this.loaded.variants.entries()) {
        const set = this.sets.get(v.id)!;
        const targetName = target === 'local' ? 'local' : target.device;
        const id = this.plan.targets.length > 1 ? `${v.id}.${targetName}` : v.id;
        this.planVariant.set(id, v.id);
        this.variants.push({
          id, label: v.label ?? variantLabel(v, set), set: v.set, precision: v.precision, kb: set.kind === 'akb' ? v.kb : 'none', policy: v.policy, target: targetName,
          ...(v.role === undefined ? {} : { role: v.role }), ...(v.trainedSnrDb === undefined ? {} : { trainedSnrDb: v.trainedSnrDb }),
        });
        for (const [ci, channel] of this.loaded.channels.entries()) {
          const rig = await this.watch.time('rigStart', () => this.startRig(target, v, set, channel, `hil-${process.pid}-${ti}-${vi}-${ci}`));
          try {
            await this.runRig(rig, id, set, channel);
          } finally {
            await this.watch.time('rigStop', () => rig.close());
          }
        }
      }
    }
    this.progress.done();
  }

  private async startRig(target: HilPlan['targets'][number], v: Variant, set: ModelSet, channel: ChannelPlan & { id: string }, device: string): Promise<Rig> {
    if (target !== 'local') return startDeviceRig({ url: this.url, target, set, references: this.references, toolId: `akb-hil-${process.pid}` });
    const recorder = this.plan.report.sigmf
      ? SigmfRecorder.open({ path: join(this.folder, 'sigmf', `${v.id}-${channel.id}`), sampleRateHz: channel.symbolRateHz, description: `akb hil ${this.plan.name}: ${v.id} through ${channelLabel(channel)}` })
      : undefined;
    try {
      return await startLocalRig({ url: this.url, device, set, policy: v.policy, kb: v.kb, channel, seed: this.plan.seed, references: this.references, ...(recorder ? { recorder } : {}) });
    } catch (e) {
      recorder?.close();
      if (v.precision !== 'float') throw precisionError(v.precision, v.set, e);
      throw e;
    }
  }

  private async runRig(rig: Rig, variant: string, set: ModelSet, channel: { id: string }): Promise<void> {
    const trace = this.plan.trace;
    if (trace === undefined) {
      const middle = this.loaded.snrsDb[Math.floor(this.loaded.snrsDb.length / 2)];
      for (const snrDb of this.loaded.snrsDb) {
        await this.watch.time('channelSet', () => rig.setSnr(snrDb));
        for (let rep = 0; rep < this.plan.repetitions; rep++) {
          for (const img of this.images) await this.measure(rig, variant, set, channel.id, snrDb, rep, img, snrDb === middle && rep === 0);
        }
      }
      return;
    }
    // A trace: the SNR follows it in time (set in steps of 0.5 dB) while the images go one after another.
    const t0 = performance.now();
    let applied: number | undefined;
    for (let rep = 0; rep < this.plan.repetitions; rep++) {
      for (const img of this.images) {
        const snrDb = Math.round(2 * traceAt(trace.points, performance.now() - t0, trace.loop)) / 2;
        if (snrDb !== applied) await this.watch.time('channelSet', () => rig.setSnr(snrDb));
        applied = snrDb;
        await this.measure(rig, variant, set, channel.id, snrDb, rep, img, rep === 0);
      }
    }
  }

  private async measure(rig: Rig, variant: string, set: ModelSet, channel: string, snrDb: number, rep: number, img: PlanImage, keep: boolean): Promise<void> {
    const sent: RigSend = await rig.send(img);
    for (const [stage, ms] of Object.entries(sent.latencyMs)) if (stage !== 'total') this.watch.add(stage, ms);
    if (sent.feedbackWaitMs !== undefined && sent.feedbackWaitMs > 0) this.watch.add('feedbackWait', sent.feedbackWaitMs);
    const t0 = performance.now();
    const r = sent.result;
    // Tiles whose frame arrived (whole or with erasures) and was decoded; a tile decoded from the prior alone is not.
    const decoded = r === undefined ? 0 : r.counts.decoded + r.counts.erased;
    let psnr: number | null = null;
    let ssim: number | null = null;
    if (r !== undefined && decoded > 0 && r.reconstruction.width === img.image.width && r.reconstruction.height === img.image.height) {
      psnr = Math.min(200, psnrOf(img.image.data, r.reconstruction.data));
      ssim = Math.min(img.image.width, img.image.height) >= 11 ? ssimOf(img.image.data, r.reconstruction.data, img.image.width, img.image.height) : null;
    }
    this.watch.add('metrics', performance.now() - t0);
    const point: HilPoint = {
      variant, channel, snrDb, rep, image: img.name, psnr, ssim,
      channelUses: sent.channelUses, tiles: sent.tiles, tilesDecoded: decoded, complete: r?.complete ?? false,
      actions: sent.actions, latencyMs: roundStages(sent.latencyMs),
    };
    this.points.push(point);
    const [main] = Object.entries(sent.actions).sort((a, b) => b[1] - a[1]);
    const action = main ? set.actions.find((a) => a.id === Number(main[0])) : undefined;
    if (action) {
      this.timeline.push({ t: (performance.now() - this.started) / 1000, variant, channel, snrDb, actionId: action.id, channelUses: action.channelUses, powerDb: action.powerDb, psnr });
    }
    if (keep && r !== undefined && this.samples.filter((s) => s.variant === variant).length < this.plan.report.images) {
      this.samples.push({ variant, channel, snrDb, image: img.name, psnr, original: img.image, reconstruction: r.reconstruction });
    }
    this.onPoint?.(point);
    this.progress.step(++this.done, this.total, `${variant} ${channel} ${snrDb} dB ${img.name}`);
  }
}

function roundStages(t: RigSend['latencyMs']): RigSend['latencyMs'] {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
}

/** The trace's SNR `ms` after its start: linear between points, the last one held (or started over with loop). */
export function traceAt(points: readonly { timeMs: number; snrDb: number }[], ms: number, loop: boolean): number {
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const period = last.timeMs - first.timeMs;
  let t = ms + first.timeMs;
  if (loop && period > 0) t = first.timeMs + ((ms % period) + period) % period;
  if (t <= first.timeMs) return first.snrDb;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (t <= b.timeMs) return b.timeMs === a.timeMs ? b.snrDb : a.snrDb + ((b.snrDb - a.snrDb) * (t - a.timeMs)) / (b.timeMs - a.timeMs);
  }
  return last.snrDb;
}
