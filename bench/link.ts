/**
 * The link's receiving side through Mosquitto (own instance on a free port; skipped with a note when
 * absent), each figure against a baseline measured in the same run:
 *
 * 1. decode scaling: tiles/s of two cloud decode workers against one, on one shared subscription
 *    (`$share/<group>/akb/v1/dev/+/link/rx`), with decoding the bottleneck: every frame is published at
 *    once, so tiles queue at the workers. Each worker is a CloudDecoder with its own connection and one
 *    decode lane (a worker thread, one onnxruntime thread). Target ratio ≥ 1.7 on 2 cores.
 * 2. end to end: frames/s and p50/p99 latency of edge publish → cloud decode → feedback back at the edge,
 *    at most `window` frames in flight, against raw mqtt.js publish → receive → reply of the same payload
 *    sizes (the frame out, a feedback-sized answer back). Run twice: with the real decoder (2 lanes), and
 *    with the model replaced by a lane that returns at once, which leaves the transport and the cloud's
 *    protocol work (reassembly, SNR, feedback). Target ratio ≥ 0.5.
 *
 *   npx tsx bench/link.ts        prints JSON on stdout
 */
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { encodeMessage, topics } from '../protocol/src/index.js';
import { connectMqtt, type AkbMqttClient } from '../protocol/src/mqtt/index.js';
import { loadModelSet, type ModelSet } from '../jscc/src/index.js';
import { CloudDecoder } from '../runtime-cloud/src/decode/decoder.js';
import type { DecodeLane } from '../runtime-cloud/src/decode/lanes.js';
import { SetSessions, loadFixtureImages, retagFrame, sendImage, type SentImage } from '../runtime-cloud/src/testing.js';
import { startMosquitto, type MosquittoHandle } from '../test/support/mosquitto.js';
import { findProgram, missingMessage } from '../test/support/programs.js';

export interface LinkBenchOptions {
  /** Tiles per decode-scaling run (default 3000). */
  tiles?: number;
  /** Frames per end-to-end run (default 2000). */
  frames?: number;
  repeats?: number;
  window?: number;
}

const DEVICE = 'bench-cam';
let seq = 0;
const id = (p: string): string => `${p}-${process.pid}-${++seq}`;

export async function runLinkBench(options: LinkBenchOptions = {}): Promise<object> {
  if (findProgram('mosquitto') === undefined) return { bench: 'link', skipped: missingMessage('mosquitto', 'mosquitto') };
  const tiles = options.tiles ?? 3000;
  const frames = options.frames ?? 2000;
  const repeats = options.repeats ?? 3;
  const window = options.window ?? 16;
  const set = await loadModelSet('models/zoo', 'akb-k256');
  const images = await makeImages(set, Math.ceil(Math.max(tiles, frames) / 16));
  const loadBefore = loadavg()[0]!;
  const broker = await startMosquitto({ extraConfig: 'max_queued_messages 0' });
  try {
    const runs: Record<'one' | 'two', ScalingRun[]> = { one: [], two: [] };
    for (let r = 0; r < repeats; r++) {
      for (const k of r % 2 === 0 ? ([1, 2] as const) : ([2, 1] as const)) {
        const run = await scalingRun(broker, set, images, tiles, k);
        runs[k === 1 ? 'one' : 'two'].push(run);
        process.stderr.write(`bench link: ${k} worker(s): ${Math.round(run.queued)} tiles/s queued (main thread ${Math.round(100 * run.mainBusy)}% busy), ${Math.round(run.whole)} tiles/s overall\n`);
      }
    }
    const e2e: Record<'raw' | 'decoded' | 'protocol', Run[]> = { raw: [], decoded: [], protocol: [] };
    for (let r = 0; r < repeats; r++) {
      e2e.raw.push(await rawRun(broker, images, frames, window));
      e2e.decoded.push(await e2eRun(broker, set, images, frames, window, false));
      e2e.protocol.push(await e2eRun(broker, set, images, frames, window, true));
      process.stderr.write(`bench link: e2e ${r + 1}/${repeats}: raw ${Math.round(e2e.raw.at(-1)!.perSec)}/s, decoded ${Math.round(e2e.decoded.at(-1)!.perSec)}/s, protocol ${Math.round(e2e.protocol.at(-1)!.perSec)}/s\n`);
    }
    const one = median(runs.one.map((r) => r.queued));
    const two = median(runs.two.map((r) => r.queued));
    const oneWhole = median(runs.one.map((r) => r.whole));
    const twoWhole = median(runs.two.map((r) => r.whole));
    const raw = summarize(e2e.raw);
    const decoded = summarize(e2e.decoded);
    const protocol = summarize(e2e.protocol);
    const frameBytes = images[0]!.tiles[0]!.fragments[0]!.length;
    return {
      bench: 'link',
      what: 'cloud receiving side through Mosquitto: decode scaling over a shared subscription; edge→cloud→feedback frames/s and latency vs raw mqtt.js',
      config: { tiles, frames, repeats, window, frameBytes, modelSet: set.name, actionId: images[0]!.tiles[0]!.action.id, snrDb: 5, cores: availableParallelism(), loadAverage: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2) } },
      scaling: {
        oneWorkerTilesPerSec: Math.round(one),
        twoWorkersTilesPerSec: Math.round(two),
        ratio: round(two / one),
        target: 1.7,
        meetsTarget: two / one >= 1.7,
        overall: { oneWorkerTilesPerSec: Math.round(oneWhole), twoWorkersTilesPerSec: Math.round(twoWhole), ratio: round(twoWhole / oneWhole) },
        mainThreadBusy: { one: round(median(runs.one.map((r) => r.mainBusy)), 2), two: round(median(runs.two.map((r) => r.mainBusy)), 2) },
        runs: { one: runs.one.map((r) => Math.round(r.queued)), two: runs.two.map((r) => Math.round(r.queued)) },
      },
      endToEnd: {
        raw,
        decoded: { ...decoded, ratio: round(decoded.framesPerSec / raw.framesPerSec) },
        protocolOnly: { ...protocol, ratio: round(protocol.framesPerSec / raw.framesPerSec), meetsTarget: protocol.framesPerSec / raw.framesPerSec >= 0.5 },
        target: 0.5,
      },
      notes: [
        'scaling.ratio compares decoding rates while tiles are queued; scaling.overall includes receiving the burst and the in-process publisher, which share the 2 cores with the decoders',
        'endToEnd.decoded is bounded by the model (~0.5-0.8 ms per tile per core here), not the link: raw MQTT moves ~10x more frames; protocolOnly replaces the model by an instant lane and measures the transport and the cloud protocol work',
      ],
    };
  } finally {
    await broker.close();
  }
}

/** Images of 16 tiles (128x128) at 5 dB, action 7 (256 uses, 0 dB; k/n = 1/12): frames of ~2 KB. */
async function makeImages(set: ModelSet, count: number): Promise<SentImage[]> {
  const sessions = await SetSessions.create(set);
  const fx = await loadFixtureImages();
  const distinct = await Promise.all([1, 2, 3, 4].map((seed) => sendImage(sessions, fx, { width: 128, height: 128, session: 1, image: 0, firstFrameId: 0, snrDb: 5, actionId: 7, seed })));
  await sessions.release();
  // The same symbols under other ids: image i is frames 16i .. 16i+15 of session 1.
  return Array.from({ length: count }, (_, i) => {
    const base = distinct[i % distinct.length]!;
    return { ...base, meta: { ...base.meta, image: i, firstFrameId: 16 * i }, tiles: base.tiles.map((t, j) => ({ ...t, frameId: 16 * i + j, fragments: t.fragments.map((f) => withFrameId(f, 16 * i + j)) })) };
  });
}

const withFrameId = (f: Uint8Array, id: number): Uint8Array => retagFrame(f, 'frameId', id);
const withSession = (f: Uint8Array, session: number): Uint8Array => retagFrame(f, 'session', session);

interface ScalingRun {
  /** Tiles/s while every frame has arrived and tiles wait for a decoder: the decoding rate itself. */
  queued: number;
  /** Tiles/s from the first publish to the last decode (receiving and the publisher's burst included). */
  whole: number;
  /** Share of the main thread (receiving, reassembly, feedback) busy while tiles were queued. */
  mainBusy: number;
}

async function scalingRun(broker: MosquittoHandle, set: ModelSet, images: SentImage[], tiles: number, workers: 1 | 2): Promise<ScalingRun> {
  const group = id('scale').replace(/[^A-Za-z0-9_-]/g, '_');
  const clients = await Promise.all(Array.from({ length: workers }, () => connectMqtt({ url: broker.url, clientId: id('worker') })));
  const decoders = await Promise.all(clients.map((client) => CloudDecoder.start({ client, sets: [set], shared: true, group, workers: 1, intraOpThreads: 1, imageTimeoutMs: 600_000, ringSize: 1 })));
  const edge = await connectMqtt({ url: broker.url, clientId: id('edge') });
  edge.raw.setMaxListeners(0); // a burst of unawaited publishes waits on the socket's drain
  const sum = (f: (s: CloudDecoder['stats']) => number): number => decoders.reduce((a, d) => a + f(d.stats), 0);
  const decoded = (): number => sum((s) => s.framesDecoded);
  try {
    const session = (Math.random() * 2 ** 32) >>> 0;
    const batch = images.slice(0, Math.ceil(tiles / 16)).map((img) => ({ ...img, meta: { ...img.meta, session }, tiles: img.tiles.map((t) => ({ ...t, fragments: t.fragments.map((f) => withSession(f, session)) })) }));
    await warmUp(edge, batch[0]!, decoded);
    const start = decoded();
    const received0 = sum((s) => s.fragmentsReceived);
    const n = batch.length * 16;
    const metas = batch.map((img) => encodeMessage('image-meta', img.meta));
    const t0 = performance.now();
    // As an edge sends: each image's meta, then its frames; nothing awaited, so tiles queue at the workers.
    for (const [i, img] of batch.entries()) {
      void edge.publish(topics.linkMeta(DEVICE), metas[i]!, { qos: 1 });
      for (const t of img.tiles) for (const f of t.fragments) void edge.publish(topics.linkRx(DEVICE), f);
    }
    await until(() => sum((s) => s.fragmentsReceived) - received0 >= n, 120_000);
    const tq = performance.now();
    const elu0 = performance.eventLoopUtilization();
    const atQueued = decoded() - start;
    await until(() => decoded() - start >= n, 120_000);
    const t1 = performance.now();
    const mainBusy = performance.eventLoopUtilization(elu0).utilization;
    return { queued: (n - atQueued) / ((t1 - tq) / 1000), whole: n / ((t1 - t0) / 1000), mainBusy };
  } finally {
    await Promise.all(decoders.map((d) => d.stop()));
    await Promise.all([...clients, edge].map((c) => c.close({ force: true })));
  }
}

/** Decodes one image in another session first (JIT, onnxruntime's first runs). */
async function warmUp(edge: AkbMqttClient, img: SentImage, decoded: () => number): Promise<void> {
  const before = decoded();
  const session = (img.meta.session + 1) >>> 0;
  await edge.publish(topics.linkMeta(DEVICE), encodeMessage('image-meta', { ...img.meta, session }), { qos: 1 });
  for (const t of img.tiles) for (const f of t.fragments) await edge.publish(topics.linkRx(DEVICE), withSession(f, session));
  await until(() => decoded() - before >= 16, 30_000);
}

interface Run {
  perSec: number;
  latenciesMs: number[];
}

/** Edge → cloud decode → feedback at the edge, at most `window` frames in flight. */
async function e2eRun(broker: MosquittoHandle, set: ModelSet, images: SentImage[], frames: number, window: number, stub: boolean): Promise<Run> {
  const client = await connectMqtt({ url: broker.url, clientId: id('cloud') });
  const laneFactory = stub ? (): Promise<DecodeLane> => Promise.resolve(instantLane()) : undefined;
  const decoder = await CloudDecoder.start({ client, sets: [set], workers: 2, imageTimeoutMs: 600_000, ringSize: 1, ...(laneFactory ? { laneFactory } : {}) });
  const edge = await connectMqtt({ url: broker.url, clientId: id('edge') });
  try {
    const session = (Math.random() * 2 ** 32) >>> 0;
    const batch = images.slice(0, Math.ceil(frames / 16));
    const bytes = batch.map((img) => img.tiles.map((t) => withSession(t.fragments[0]!, session)));
    await warmUp(edge, batch[0]!, () => decoder.stats.framesDecoded);
    const sent = new Map<number, number>();
    const latencies: number[] = [];
    let release: (() => void) | undefined;
    edge.onMessage(topics.feedback(DEVICE), (m) => {
      const f = JSON.parse(m.payload.toString()) as { session: number; frameId: number };
      const t = sent.get(f.frameId);
      if (f.session !== session || t === undefined) return;
      latencies.push(performance.now() - t);
      sent.delete(f.frameId);
      release?.();
    });
    await edge.subscribe(topics.feedback(DEVICE));
    const metas = batch.map((img) => encodeMessage('image-meta', { ...img.meta, session }));
    const t0 = performance.now();
    for (const [i, img] of batch.entries()) {
      void edge.publish(topics.linkMeta(DEVICE), metas[i]!, { qos: 1 });
      for (const [j, t] of img.tiles.entries()) {
        while (sent.size >= window) await slot((r) => (release = r));
        sent.set(t.frameId, performance.now());
        void edge.publish(topics.linkRx(DEVICE), bytes[i]![j]!);
      }
    }
    await until(() => sent.size === 0, 60_000);
    return { perSec: latencies.length / ((performance.now() - t0) / 1000), latenciesMs: latencies };
  } finally {
    await decoder.stop();
    await Promise.all([client, edge].map((c) => c.close({ force: true })));
  }
}

/** A decode lane that answers at once with a grey tile: the cloud's path without the model. */
function instantLane(): DecodeLane {
  return {
    kind: 'inline',
    run: (batch) => Promise.resolve(new Float32Array(batch.rows * 3 * batch.tile * batch.tile).fill(0.5)),
    close: () => Promise.resolve(),
  };
}

/** Raw mqtt.js: the frame bytes out, a feedback-sized reply back, same window. */
async function rawRun(broker: MosquittoHandle, images: SentImage[], frames: number, window: number): Promise<Run> {
  const a: MqttClient = await connectAsync(broker.url, { clientId: id('raw-a') });
  const b: MqttClient = await connectAsync(broker.url, { clientId: id('raw-b') });
  const reply = Buffer.alloc(260, 0x20);
  try {
    await b.subscribeAsync('raw/frames', { qos: 0 });
    await a.subscribeAsync('raw/replies', { qos: 0 });
    b.on('message', (_t, payload: Buffer) => void b.publishAsync('raw/replies', Buffer.concat([payload.subarray(16, 20), reply]), { qos: 0 }));
    const sent = new Map<number, number>();
    const latencies: number[] = [];
    let release: (() => void) | undefined;
    a.on('message', (_t, payload: Buffer) => {
      const frameId = payload.readUInt32LE(0);
      latencies.push(performance.now() - sent.get(frameId)!);
      sent.delete(frameId);
      release?.();
    });
    const all = images.flatMap((img) => img.tiles.map((t) => t.fragments[0]!)).slice(0, frames).map((f, i) => Buffer.from(withFrameId(f, i)));
    const t0 = performance.now();
    for (const [i, f] of all.entries()) {
      while (sent.size >= window) await slot((r) => (release = r));
      sent.set(i, performance.now());
      void a.publishAsync('raw/frames', f, { qos: 0 });
    }
    await until(() => sent.size === 0, 60_000);
    return { perSec: latencies.length / ((performance.now() - t0) / 1000), latenciesMs: latencies };
  } finally {
    await Promise.all([a.endAsync(true), b.endAsync(true)]);
  }
}

function summarize(runs: Run[]): { framesPerSec: number; p50Ms: number; p99Ms: number; runs: number[] } {
  const all = runs.flatMap((r) => r.latenciesMs).sort((x, y) => x - y);
  const q = (p: number): number => all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? Number.NaN;
  return { framesPerSec: Math.round(median(runs.map((r) => r.perSec))), p50Ms: round(q(0.5)), p99Ms: round(q(0.99)), runs: runs.map((r) => Math.round(r.perSec)) };
}

/** Waits for a frame in flight to be answered; fails instead of hanging when none is. */
function slot(register: (release: () => void) => void, timeoutMs = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench link: no answer for ${timeoutMs} ms`)), timeoutMs);
    register(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function until(test: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`bench link: gave up after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function round(v: number, digits = 3): number {
  return Number(v.toFixed(digits));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await runLinkBench(), null, 2)}\n`);
}
