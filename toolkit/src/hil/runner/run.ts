/**
 * `akb hil run`: a plan becomes a sweep becomes results. Phases, each timed into `stagesMs`:
 *
 *   broker     the embedded aedes on a free port, or the plan's broker URL (with `tls` for mqtts://)
 *   devices    every device target answers a ping (else DEVICE_SILENT, exit code 2) before anything else
 *   load       images, model sets; quantize (int8/fp16 encoders, cached under <report>/models/)
 *   sweep      target × variant × channel: one rig each (rigStart); per SNR one channel.set (channelSet),
 *              then repetition × image through edge → emulator → cloud (the points' stages: encode,
 *              policy, send, channel, decode), metrics (PSNR, SSIM against the originals), feedbackWait
 *              (a learned policy's next image waits for this one's feedback)
 *   digital    the JPEG-at-capacity baseline at the same channel uses and SNRs (plan `digital: true`)
 * then the summary, the thresholds and, when the plan's variants have roles, the findings (findings.ts).
 * Writing the folder is write-report.ts's, after the run (not in stagesMs).
 */
import { join, resolve } from 'node:path';
import { hostname, cpus } from 'node:os';
import { mkdir } from 'node:fs/promises';
import type { ModelSet } from '@akb/jscc';
import type { MqttTlsOptions } from '@akb/protocol/mqtt';
import { AkbError, MAX_MESSAGE_BYTES } from '@akb/protocol';
import type { LoadedPlan } from '../plan-load.js';
import type { DeviceTarget, LinkPlan } from '../plan.js';
import { loadPlanImages, type PlanImage } from '../images.js';
import { loadVariantSet } from '../models.js';
import { evaluateThresholds, summarize } from '../stats.js';
import { paperFindings } from '../findings.js';
import { RESULTS_VERSION, type HilLink, type HilPoint, type HilResults } from '../results.js';
import { silentProgress, type Progress } from '../progress.js';
import { pingDevice } from './device.js';
import { digitalRows } from './digital.js';
import { Stopwatch, Sweep, channelLabel, type HilSample } from './sweep.js';
import type { HilBroker } from './rig.js';
import { GNURADIO_SAMPLE_RATE_HZ, NODE_SAMPLE_RATE_HZ } from './links/sdr-udp.js';

export type { HilSample } from './sweep.js';
export { channelLabel, traceAt } from './sweep.js';

export interface HilRunOptions {
  progress?: Progress;
  /** Told of each point as it is measured. */
  onPoint?: (p: HilPoint) => void;
  /** TLS for the plan's mqtts:// broker (PEM contents): every connection of the run takes it. */
  tls?: MqttTlsOptions;
}

export interface HilRun {
  results: HilResults;
  samples: HilSample[];
  folder: string;
}

export async function runHil(loaded: LoadedPlan, options: HilRunOptions = {}): Promise<HilRun> {
  const { plan } = loaded;
  const progress = options.progress ?? silentProgress;
  const folder = resolve(loaded.dir, plan.report.folder);
  const watch = new Stopwatch();
  const startedAt = new Date();
  const t0 = performance.now();
  if (options.tls && plan.broker === 'embedded') throw embeddedTlsError('TLS settings');
  await mkdir(folder, { recursive: true });

  const broker = plan.broker === 'embedded' ? await watch.time('broker', async () => (await import('../../broker/embedded.js')).startEmbeddedBroker()) : undefined;
  const target: HilBroker = broker ? { url: broker.url } : { url: plan.broker, ...(options.tls ? { tls: options.tls } : {}) };
  try {
    const devices = plan.targets.filter((t): t is DeviceTarget => t !== 'local');
    if (devices.length > 0) await watch.time('devices', () => pingAll(target, devices, progress));

    progress.phase(`loading images and ${loaded.variants.length} model set${loaded.variants.length === 1 ? '' : 's'}`);
    const images = await watch.time('load', () => loadPlanImages(plan.images, loaded.dir));
    if (devices.length > 0) checkSendable(images);
    const references = new Map(images.map((i) => [i.name, i.image]));
    const sets = new Map<string, ModelSet>();
    // Only a local target runs the encoder here: for device targets alone the precision is a label.
    const local = plan.targets.includes('local');
    for (const v of loaded.variants) {
      const precision = local ? v.precision : 'float';
      const stage = precision === 'float' ? 'load' : 'quantize';
      const calib = plan.images.folder ? resolve(loaded.dir, plan.images.folder) : resolve(images[0]!.path, '..');
      sets.set(v.id, await watch.time(stage, () =>
        loadVariantSet({ zoo: loaded.zoo, set: v.set, precision, cacheDir: join(folder, 'models'), calib, calibNames: images.map((i) => i.name), calibImages: images.map((i) => i.image), onProgress: (p) => progress.phase(p) }),
      ));
    }

    if (plan.report.sigmf) await mkdir(join(folder, 'sigmf'), { recursive: true });
    const sweep = new Sweep(loaded, images, references, sets, target, folder, watch, progress, options.onPoint);
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
      link: linkInfo(plan.link),
      ...(sweep.links.length > 0 ? { links: sweep.links } : {}),
    };
    // The paper's comparison in words, when the plan declares roles (hil/plans/paper.yaml).
    if (results.variants.some((v) => v.role !== undefined)) results.findings = paperFindings(results).slice(0, 256);
    return { results, samples: sweep.samples, folder };
  } finally {
    await broker?.close();
  }
}

/** TLS settings with the embedded broker, which is plain aedes on loopback: refused rather than ignored. */
export function embeddedTlsError(what: string): AkbError {
  return new AkbError('BAD_OPTION', `${what} given, but the plan's broker is "embedded" (plain, on loopback)`, {
    hint: "set the plan's broker to an mqtts:// URL, or leave the TLS settings out",
    exitCode: 2,
  });
}

/** The plan's link as results.json records it. */
export function linkInfo(link: LinkPlan): HilLink {
  switch (link.driver) {
    case 'emulated':
      return { driver: 'emulated' };
    case 'sdr-udp':
      return {
        driver: 'sdr-udp', channel: link.channel, sampleRateHz: link.sampleRateHz ?? (link.channel === 'gnuradio' ? GNURADIO_SAMPLE_RATE_HZ : NODE_SAMPLE_RATE_HZ), freqOffset: link.freqOffset,
        ...(link.taps ? { taps: link.taps.map(([re, im]) => [re, im] as [number, number]) } : {}),
      };
    case 'serial': {
      const m = link.modem;
      const modem = m.kind === 'rn2483' ? `rn2483 SF${m.sf} ${m.bwKhz} kHz CR 4/${4 + m.cr}` : `e32 ${m.airBitsPerSecond} bit/s${m.packetBytes ? `, ${m.packetBytes}-byte packets` : ''}`;
      return { driver: 'serial', modem, airtimeScale: link.airtimeScale, dutyCycle: link.dutyCycle };
    }
  }
}

async function pingAll(broker: HilBroker, devices: DeviceTarget[], progress: Progress): Promise<void> {
  const { connectMqtt, RpcClient } = await import('@akb/protocol/mqtt');
  const { topics } = await import('@akb/protocol');
  progress.phase(`pinging ${devices.map((d) => d.device).join(', ')}`);
  const client = await connectMqtt({ ...broker, clientId: `akb-hil-ping-${process.pid}` });
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
