/**
 * The edge's sending side with the reference models (akb-k256), each figure against a baseline measured
 * in the same run:
 *
 * 1. throughput: images/s of the pipeline fed by the pump (decode, tiles, DQN, embedder, encoder,
 *    frames, link), at 32x32 (CIFAR-10 samples) and at Kodak size (768x512), on a null link and over
 *    MQTT (Mosquitto, frames on link/tx). The share of wall time spent outside onnxruntime's session.run
 *    is the target (≤ 10%); the baseline is the same session.run calls alone, back to back on the same
 *    tiles (`modelOnly`), so `ratio` = pipeline img/s ÷ model-only img/s.
 * 2. memory: peak resident set of `akb-edge --once` (a child process, frames over the emulated channel
 *    through Mosquitto) with bin/akb-edge's memory settings, against `node dist/main.js` without them:
 *    the CIFAR-10 samples, the Kodak samples, and two large photographs of odd size made from Kodak
 *    images (1531x1023 colour and 1531x1023 1-channel grayscale, test/edge/images.ts).
 *
 *   npx tsx bench/edge.ts        prints JSON on stdout
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectMqtt } from '../protocol/src/mqtt/index.js';
import { decodeImage, loadModelSet, tileCount, tileGrid, type ModelSet } from '../jscc/src/index.js';
import { LinkBase, MqttLink, type LinkCapabilities, type LinkDriver } from '../link/src/index.js';
import { ChannelPolicy, EdgePipeline, TileEncoder, pumpImages, type ImageSource, type SourceImage } from '../runtime-edge/src/index.js';
import { startMosquitto, type MosquittoHandle } from '../test/support/mosquitto.js';
import { findProgram, missingMessage } from '../test/support/programs.js';
import { MEMORY_IMAGES, edgeMemoryImages } from '../test/edge/images.js';
import { median } from './measure.js';

const CIFAR = 'models/samples/cifar10-test';
const KODAK = 'models/samples/kodak';

/** Takes every frame and drops it. */
class NullLink extends LinkBase {
  readonly name = 'null';
  readonly capabilities: LinkCapabilities = { mtu: 1024, dtypes: ['float32'] };
  // eslint-disable-next-line @typescript-eslint/require-await -- the driver interface is async
  async send(fragments: readonly Uint8Array[]): Promise<void> {
    this.check(fragments);
  }
  async close(): Promise<void> {}
}

/** The same files over and over, from memory. */
function memorySource(files: SourceImage[], count: number): ImageSource {
  return {
    kind: 'directory',
    stats: { found: count, unreadable: 0 },
    // eslint-disable-next-line @typescript-eslint/require-await -- a source is an async iterable
    async *images() {
      for (let i = 0; i < count; i++) yield files[i % files.length]!;
    },
    async close() {},
  };
}

function readImages(dir: string): SourceImage[] {
  return readdirSync(dir).filter((n) => /\.(png|jpe?g)$/i.test(n)).sort().map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
}

interface Run {
  imagesPerSec: number;
  tilesPerSec: number;
  /** 1 − session.run time ÷ wall time. */
  outside: number;
}

async function pipelineRun(set: ModelSet, link: LinkDriver, files: SourceImage[], count: number, maxBatch: number, transport?: Parameters<typeof EdgePipeline.create>[0]['transport']): Promise<Run> {
  const pipeline = await EdgePipeline.create({ deviceId: 'bench-edge', set, link, maxBatch, transport, policy: { seed: 1 } });
  await pumpImages(memorySource(files, Math.min(count, files.length)), pipeline); // warm-up: JIT, first runs
  let session = 0;
  let tiles = 0;
  const t0 = performance.now();
  const stats = await pumpImages(memorySource(files, count), pipeline, {
    onReport: (r) => {
      session += r.ms.session;
      tiles += r.tiles;
    },
  });
  const wall = performance.now() - t0;
  await pipeline.close();
  if (stats.sent !== count) throw new Error(`bench edge: ${stats.sent} of ${count} images sent (${stats.failed} failed)`);
  return { imagesPerSec: (1000 * count) / wall, tilesPerSec: (1000 * tiles) / wall, outside: 1 - session / wall };
}

/** The pipeline's session.run calls alone (DQN, embedder, encoder), back to back on the same tiles. */
async function modelOnlyRun(set: ModelSet, files: SourceImage[], count: number, maxBatch: number): Promise<Run> {
  const encoder = await TileEncoder.create(set, { maxBatch });
  const policy = await ChannelPolicy.create(set, { seed: 1 });
  const first = await decodeImage(files[0]!.bytes);
  const perImage = tileCount(tileGrid(first.width, first.height, encoder.tile));
  const total = perImage * count;
  const tiles = new Float32Array(maxBatch * 3 * encoder.tile * encoder.tile).fill(0.5);
  const cbins = new Uint8Array(maxBatch);
  const once = async (n: number): Promise<void> => {
    const d = await policy.choose(cbins, n);
    await encoder.encode({ tiles, count: n, actions: d.actions, snrEstimateDb: 10 });
  };
  for (let i = 0; i < 3; i++) await once(maxBatch);
  const t0 = performance.now();
  for (let done = 0; done < total; done += maxBatch) await once(Math.min(maxBatch, total - done));
  const wall = performance.now() - t0;
  await Promise.all([encoder.release(), policy.release()]);
  return { imagesPerSec: (1000 * count) / wall, tilesPerSec: (1000 * total) / wall, outside: 0 };
}

/** Peak resident set (MiB) that `akb-edge --once` reports for a folder. */
async function edgePeakMiB(tuned: boolean, brokerUrl: string, dir: string, maxBatch: number): Promise<number> {
  const args = ['--device', `bench-mem-${process.pid}`, '--broker', brokerUrl, '--models', 'models/zoo', '--set', 'akb-k256', '--images', dir, '--link', 'emulated', '--once', '--max-batch', String(maxBatch), '--telemetry-ms', '0'];
  const [cmd, argv] = tuned ? ['runtime-edge/bin/akb-edge', args] : [process.execPath, ['runtime-edge/dist/main.js', ...args]];
  const env = { ...process.env };
  if (!tuned) for (const k of ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_']) delete env[k];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`akb-edge exited ${code}: ${text.slice(-300)}`))));
  });
  const m = /peak resident memory ([\d.]+) MiB/.exec(out);
  if (!m) throw new Error(`akb-edge printed no peak memory: ${out.slice(-300)}`);
  return Number(m[1]);
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

export async function runEdgeBench(options: { repeats?: number; smallImages?: number; kodakImages?: number } = {}): Promise<object> {
  const repeats = options.repeats ?? 3;
  const temps: string[] = [];
  const sizes = [
    { name: '32x32', files: readImages(CIFAR), count: options.smallImages ?? 640 },
    { name: '768x512', files: readImages(KODAK), count: options.kodakImages ?? 4 },
  ];
  const set = await loadModelSet('models/zoo', 'akb-k256');
  const mosquitto: MosquittoHandle | undefined = findProgram('mosquitto') ? await startMosquitto() : undefined;
  const throughput: Record<string, object> = {};
  try {
    for (const size of sizes) {
      for (const maxBatch of [16, 32]) {
        const runs: Record<'modelOnly' | 'null' | 'mqtt', Run[]> = { modelOnly: [], null: [], mqtt: [] };
        for (let r = 0; r < repeats; r++) {
          runs.modelOnly.push(await modelOnlyRun(set, size.files, size.count, maxBatch));
          runs.null.push(await pipelineRun(set, new NullLink(), size.files, size.count, maxBatch));
          if (mosquitto) {
            const client = await connectMqtt({ url: mosquitto.url, clientId: `bench-edge-${process.pid}-${r}` });
            try {
              const link = await MqttLink.open({ client, deviceId: 'bench-edge' });
              runs.mqtt.push(await pipelineRun(set, link, size.files, size.count, maxBatch, client));
            } finally {
              await client.close();
            }
          }
          process.stderr.write(`bench edge: ${size.name} batch ${maxBatch} run ${r + 1}/${repeats}: model-only ${Math.round(runs.modelOnly.at(-1)!.imagesPerSec)} img/s, null link ${Math.round(runs.null.at(-1)!.imagesPerSec)} img/s (${Math.round(100 * runs.null.at(-1)!.outside)}% outside)${mosquitto ? `, mqtt ${Math.round(runs.mqtt.at(-1)!.imagesPerSec)} img/s (${Math.round(100 * runs.mqtt.at(-1)!.outside)}% outside)` : ''}\n`);
        }
        const sum = (rs: Run[]): object | undefined =>
          rs.length === 0 ? undefined : { imagesPerSec: round(median(rs.map((x) => x.imagesPerSec)), 1), tilesPerSec: round(median(rs.map((x) => x.tilesPerSec)), 0), outside: round(median(rs.map((x) => x.outside))) };
        const model = median(runs.modelOnly.map((x) => x.imagesPerSec));
        throughput[`${size.name} batch ${maxBatch}`] = {
          images: size.count,
          modelOnly: sum(runs.modelOnly),
          nullLink: { ...sum(runs.null), ratio: round(median(runs.null.map((x) => x.imagesPerSec)) / model) },
          mqtt: mosquitto ? { ...sum(runs.mqtt), ratio: round(median(runs.mqtt.map((x) => x.imagesPerSec)) / model) } : missingMessage('mosquitto', 'mosquitto'),
        };
      }
    }
    const memory: Record<string, object> = {};
    if (mosquitto) {
      const large = mkdtempSync(join(tmpdir(), 'akb-bench-edge-'));
      temps.push(large);
      await edgeMemoryImages(large, MEMORY_IMAGES.filter((m) => m.width === 1531 && m.height === 1023));
      for (const [name, dir] of [['32x32', CIFAR], ['768x512', KODAK], ['1531x1023 colour + grey', large]] as const) {
        for (const maxBatch of [16, 32]) {
          const tuned = median([await edgePeakMiB(true, mosquitto.url, dir, maxBatch), await edgePeakMiB(true, mosquitto.url, dir, maxBatch)]);
          const plain = await edgePeakMiB(false, mosquitto.url, dir, maxBatch);
          memory[`${name} batch ${maxBatch}`] = { akbEdgeMiB: round(tuned, 1), akbEdgeMB: round((tuned * 2 ** 20) / 1e6, 1), plainNodeMiB: round(plain, 1), ratio: round(tuned / plain) };
          process.stderr.write(`bench edge: memory ${name} batch ${maxBatch}: akb-edge ${tuned.toFixed(1)} MiB, plain node ${plain.toFixed(1)} MiB\n`);
        }
      }
    }
    return {
      bench: 'edge',
      what: 'edge sending side (akb-k256): images/s and share of time outside session.run (target ≤ 0.10) vs the model runs alone; akb-edge peak resident memory (targets in runtime-edge/README.md) vs plain node',
      throughput,
      memory: mosquitto ? memory : missingMessage('mosquitto', 'mosquitto'),
    };
  } finally {
    await mosquitto?.close();
    for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await runEdgeBench(), null, 2)}\n`);
}
