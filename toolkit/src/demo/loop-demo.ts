/**
 * The main job, end to end on one broker: an edge (AKB-JSCC encoder, source-KB entry selection, DQN
 * policy with online channel-KB correction) sends images tile by tile; the channel emulator applies a
 * time-varying channel (an SNR sweep with Gauss-Markov fading and bursty fragment loss); the cloud
 * reassembles, decodes with the KB prior, measures quality against the originals and feeds it back, and
 * the edge's next choices use that feedback. Every part is the real one, talking MQTT.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectDevice, connectMqtt, type AkbMqttClient, type MqttTlsOptions } from '@akb/protocol/mqtt';
import { ChannelEmulator, MqttLink, PiecewiseSnrTrace, channelFactory } from '@akb/link';
import { EdgePipeline, type ImageReport } from '@akb/edge';
import { decodeImage, loadModelSet, type RgbImage } from '@akb/jscc';
import { CloudDecoder, folderReferences, type ImageResult } from '@akb/cloud';
import { demoBirth as birth } from './frames-demo.js';
import type { ReportImage, ReportPoint } from './report.js';

export interface LoopDemoOptions {
  brokerUrl: string;
  /** TLS for an mqtts:// broker (PEM contents), given to every connection the demo makes. */
  tls?: MqttTlsOptions;
  /** models/zoo */
  zoo: string;
  set: string;
  /** Folder of sample images; its subfolders are read in order. */
  samples: string;
  /** Largest images to send from folders whose images are big (Kodak). */
  maxLargeImages?: number;
  seed?: number;
  policy?: string;
  onRow?: (row: LoopRow) => void;
}

export interface LoopRow {
  name: string;
  tiles: number;
  action: string;
  channelUses: number;
  snrDb: number | undefined;
  psnr: number | undefined;
  complete: boolean;
}

export interface LoopDemoResult {
  rows: LoopRow[];
  images: ReportImage[];
  timeline: ReportPoint[];
  emulator: string;
  /** Feedback messages the edge took in. */
  feedback: number;
  elapsedS: number;
}

/** 12 dB down to -2 dB and back over 24 s: the policy has to follow it. */
const SWEEP = [
  { timeMs: 0, snrDb: 12 },
  { timeMs: 10_000, snrDb: -2 },
  { timeMs: 14_000, snrDb: -2 },
  { timeMs: 24_000, snrDb: 12 },
];

export async function runLoopDemo(options: LoopDemoOptions): Promise<LoopDemoResult> {
  const device = 'demo-edge';
  const url = options.brokerUrl;
  const tls = options.tls === undefined ? {} : { tls: options.tls };
  const set = await loadModelSet(options.zoo, options.set);
  const inputs = await sampleImages(options.samples, options.maxLargeImages ?? 1);
  const clients: AkbMqttClient[] = [];
  const started = Date.now();
  let emulator: ChannelEmulator | undefined;
  let cloud: CloudDecoder | undefined;
  let edge: EdgePipeline | undefined;
  const results = new Map<string, ImageResult>();
  try {
    const cloudClient = await connectMqtt({ url, ...tls, clientId: `demo-cloud-${process.pid}` });
    clients.push(cloudClient);
    cloud = await CloudDecoder.start({
      client: cloudClient,
      sets: [set],
      lane: 'inline',
      references: folderReferences(options.samples),
      onImage: (r) => void results.set(r.name ?? String(r.image), r),
    });
    const emulatorClient = await connectMqtt({ url, ...tls, clientId: `demo-channel-${process.pid}` });
    clients.push(emulatorClient);
    emulator = await ChannelEmulator.start({
      client: emulatorClient,
      device,
      keepOrder: true,
      channelFor: channelFactory(
        {
          snr: { kind: 'trace', trace: new PiecewiseSnrTrace(SWEEP, true, 'demo sweep') },
          fading: { kind: 'gauss-markov', dopplerHz: 5, symbolRateHz: 1e5 },
          loss: { p: 0.02, r: 0.5, lossBad: 0.6, lossGood: 0.005 },
        },
        options.seed ?? 1,
      ),
    });
    const edgeClient = await connectDevice({ url, ...tls, deviceId: device, birth: (session) => birth(device, session) });
    clients.push(edgeClient);
    const link = await MqttLink.open({ client: edgeClient, deviceId: device, mtu: 1024 });
    edge = await EdgePipeline.create({
      deviceId: device,
      set,
      link,
      transport: edgeClient,
      policy: { ...(options.policy === undefined ? {} : { mode: options.policy }), seed: options.seed ?? 1 },
    });

    const rows: LoopRow[] = [];
    const images: ReportImage[] = [];
    const timeline: ReportPoint[] = [];
    for (const input of inputs) {
      const report = await edge.sendImage(input.image, input.name);
      const result = await waitFor(() => results.get(input.name), input.image.width > 64 ? 20_000 : 5_000);
      const row = toRow(input.name, report, result);
      rows.push(row);
      options.onRow?.(row);
      if (result) {
        images.push({
          name: input.name,
          original: input.image,
          reconstruction: result.reconstruction,
          psnr: result.psnr,
          tiles: result.tiles,
          channelUses: report.channelUses,
        });
        const t = (result.finishedAt - started) / 1000;
        for (const tile of result.tileResults.slice(0, 64)) {
          if (tile.snrDb === undefined) continue;
          const action = set.actions[tile.actionId ?? 0];
          timeline.push({ t, snrDb: tile.snrDb - (action?.powerDb ?? 0), psnr: tile.psnr, action: describeAction(action) });
        }
      }
      // Let the feedback of this image reach the edge before it chooses for the next.
      await new Promise((r) => setTimeout(r, 150));
    }
    return { rows, images, timeline, emulator: emulator.summary(), feedback: edge.counters.feedbackReceived, elapsedS: (Date.now() - started) / 1000 };
  } finally {
    await edge?.close().catch(() => undefined);
    await emulator?.stop().catch(() => undefined);
    await cloud?.stop().catch(() => undefined);
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
  }
}

function describeAction(a: { channelUses: number; powerDb: number } | undefined): string {
  return a ? `${a.channelUses} uses, ${a.powerDb >= 0 ? '+' : ''}${a.powerDb} dB` : 'unknown';
}

function toRow(name: string, report: ImageReport, result: ImageResult | undefined): LoopRow {
  const [mainAction] = Object.entries(report.actions).sort((a, b) => b[1] - a[1]);
  return {
    name,
    tiles: report.tiles,
    action: mainAction ? `#${mainAction[0]}${Object.keys(report.actions).length > 1 ? ' (mixed)' : ''}` : '-',
    channelUses: report.channelUses,
    snrDb: result?.meanSnrDb,
    psnr: result?.psnr,
    complete: result?.complete ?? false,
  };
}

async function sampleImages(dir: string, maxLarge: number): Promise<{ name: string; image: RgbImage }[]> {
  const out: { name: string; image: RgbImage }[] = [];
  for (const sub of (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    let large = 0;
    for (const file of (await readdir(join(dir, sub))).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()) {
      const image = await decodeImage(await readFile(join(dir, sub, file)), file);
      if (image.width > 64 && ++large > maxLarge) continue;
      out.push({ name: `${sub}/${file}`, image });
    }
  }
  return out;
}

async function waitFor<T>(get: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}
