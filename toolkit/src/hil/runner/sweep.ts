/**
 * The sweep proper (runner/run.ts starts it): for each target × variant × channel one rig, for each SNR
 * one channel.set, then every repetition of every image; each image becomes a point (PSNR and SSIM against
 * the original, stages, actions), a timeline entry and, for a few, a kept reconstruction. Wall time goes
 * into the run's Stopwatch by stage.
 */
import { join } from 'node:path';
import { psnr as psnrOf, ssim as ssimOf, type ModelSet, type RgbImage } from '@akb/jscc';
import { SigmfRecorder } from '@akb/link';
import type { LoadedPlan } from '../plan-load.js';
import type { ChannelPlan, HilPlan } from '../plan.js';
import type { PlanImage } from '../images.js';
import type { HilLinkRow, HilPoint, HilVariant, TimelinePoint } from '../results.js';
import type { Progress } from '../progress.js';
import { startLocalRig } from './local.js';
import { startDeviceRig } from './device.js';
import type { HilBroker, Rig, RigSend } from './rig.js';
import type { LinkCounters } from './links/index.js';

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

type Variant = LoadedPlan['variants'][number];

export class Stopwatch {
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

export function channelLabel(c: ChannelPlan): string {
  const base = c.kind === 'awgn' ? 'AWGN' : c.kind === 'rician' ? `Rician K=${c.kFactor}` : c.kind === 'gauss-markov' ? `Gauss-Markov ${c.dopplerHz} Hz` : 'Rayleigh';
  return c.loss ? `${base}, G-E loss` : base;
}

/** A set whose frames may name a source-KB entry (not a Deep JSCC set, nor an akb-fixed no-KB twin). */
const usesKb = (set: ModelSet): boolean => set.kb !== undefined && set.prior !== 'global-mean';

function variantLabel(v: Variant, set: ModelSet): string {
  const name = set.kind === 'deepjscc' ? `Deep JSCC (${v.set})` : `AKB-JSCC (${v.set})`;
  return [name, v.precision, usesKb(set) && v.kb === 'off' ? 'no source KB' : '', v.policy].filter(Boolean).join(', ');
}

/** The sweep proper; its state (points, timeline, samples) is what the results are made of. */
export class Sweep {
  readonly points: HilPoint[] = [];
  readonly timeline: TimelinePoint[] = [];
  readonly samples: HilSample[] = [];
  readonly variants: HilVariant[] = [];
  /** What a sdr-udp or serial link saw, per (variant, channel, SNR). */
  readonly links: HilLinkRow[] = [];
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
    private readonly broker: HilBroker,
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
          id, label: v.label ?? variantLabel(v, set), set: v.set, precision: v.precision, kb: usesKb(set) ? v.kb : 'none', policy: v.policy, target: targetName,
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
    if (target !== 'local') return startDeviceRig({ broker: this.broker, target, set, references: this.references, toolId: `akb-hil-${process.pid}` });
    const recorder = this.plan.report.sigmf
      ? SigmfRecorder.open({ path: join(this.folder, 'sigmf', `${v.id}-${channel.id}`), sampleRateHz: channel.symbolRateHz, description: `akb hil ${this.plan.name}: ${v.id} through ${channelLabel(channel)}` })
      : undefined;
    try {
      return await startLocalRig({
        broker: this.broker, device, set, precision: v.precision, policy: v.policy, kb: v.kb, channel, link: this.plan.link, seed: this.plan.seed, references: this.references,
        ...(recorder ? { recorder } : {}),
      });
    } catch (e) {
      recorder?.close();
      throw e;
    }
  }

  private async runRig(rig: Rig, variant: string, set: ModelSet, channel: { id: string }): Promise<void> {
    const trace = this.plan.trace;
    if (trace === undefined) {
      const middle = this.loaded.snrsDb[Math.floor(this.loaded.snrsDb.length / 2)];
      for (const snrDb of this.loaded.snrsDb) {
        await this.watch.time('channelSet', () => rig.setSnr(snrDb));
        for (let i = 0; i < this.plan.warmup; i++) await this.watch.time('warmup', () => rig.send(this.images[i % this.images.length]!));
        const linkStart = this.linkMark(rig);
        for (let rep = 0; rep < this.plan.repetitions; rep++) {
          for (const img of this.images) await this.measure(rig, variant, set, channel.id, snrDb, rep, img, snrDb === middle && rep === 0);
        }
        this.linkRow(rig, linkStart, variant, channel.id, snrDb, this.plan.repetitions * this.images.length);
      }
      return;
    }
    const linkStart = this.linkMark(rig);
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
    this.linkRow(rig, linkStart, variant, channel.id, null, this.plan.repetitions * this.images.length);
  }

  private linkMark(rig: Rig): { at: number; counters: LinkCounters } | undefined {
    return rig.linkCounters === undefined ? undefined : { at: performance.now(), counters: rig.linkCounters() };
  }

  /** The link's counters since `start`, as a row (sdr-udp and serial links only). */
  private linkRow(rig: Rig, start: { at: number; counters: LinkCounters } | undefined, variant: string, channel: string, snrDb: number | null, images: number): void {
    if (start === undefined || rig.linkCounters === undefined) return;
    const now = rig.linkCounters();
    const row: HilLinkRow = { variant, channel, snrDb, images, msPerImage: Math.round(((performance.now() - start.at) / Math.max(1, images)) * 10) / 10 };
    const a = start.counters;
    if (now.sdr && a.sdr) {
      const bursts = now.sdr.bursts - a.sdr.bursts;
      row.sdr = {
        bursts,
        snrEstimateMeanDb: bursts > 0 ? clampDb((now.sdr.snrSumDb - a.sdr.snrSumDb) / bursts) : null,
        datagrams: now.sdr.datagrams - a.sdr.datagrams,
        missing: now.sdr.missing - a.sdr.missing,
        headerFailures: now.sdr.headerFailures - a.sdr.headerFailures,
      };
    }
    if (now.serial && a.serial) {
      row.serial = {
        packetsSent: now.serial.packetsSent - a.serial.packetsSent,
        packetsLost: now.serial.packetsLost - a.serial.packetsLost,
        packetsRetried: now.serial.packetsRetried - a.serial.packetsRetried,
        airtimeMs: Math.round((now.serial.airtimeMs - a.serial.airtimeMs) * 1000) / 1000,
      };
    }
    this.links.push(row);
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

/** A gateway's estimate in the results' dB range (a noise-free burst estimates +Infinity), to 0.001 dB. */
function clampDb(db: number): number | null {
  if (Number.isNaN(db)) return null;
  return Math.round(Math.min(200, Math.max(-100, db)) * 1000) / 1000;
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
