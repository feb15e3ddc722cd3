/**
 * Broker throughput: protocol frames through the akb MQTT layer against raw mqtt.js byte arrays of the
 * same size, in the same run, through Mosquitto (own instance on a free loopback port; skipped with a
 * note when absent) and through the embedded aedes.
 *
 *   protocol: encodeFrame → AkbMqttClient.publish → broker → onMessage handler → decodeFrame
 *   raw:      mqtt.js publish(Buffer)            → broker → 'message' listener (length check)
 *   wrapper:  AkbMqttClient.publish(same bytes)  → broker → onMessage handler (length check)
 *
 * `wrapper` separates the cost of the MQTT layer from that of the frame codec (a CRC-32C pass over the
 * whole frame on each side), which is reported per message as `codecMicros`, measured in the same run.
 *
 * Fairness: the three paths publish on topics of the same shape and length, subscribe at QoS 1, reuse one
 * options object, keep at most `window` messages in flight, and get the same warm-up. Each round runs the
 * three paths back to back in a rotating order; `ratio` is the median over rounds of protocol ÷ raw of the
 * same round (paired, so a slow patch of this shared machine hits both sides of a ratio alike). Besides
 * messages/s, each run records this process's CPU time per message (`cpuMicros`: user + system, so the
 * socket writes count): it moves less than throughput when other work shares the cores, the protocol - raw
 * difference is what the akb layer costs per message, and `cpuRatio` (raw ÷ protocol CPU per message,
 * paired) is the ratio this process would reach if it alone were the bottleneck. Many short rounds (30 of
 * 1,000 messages by default) keep the two halves of each pair close in time. Target: ratio ≥ 0.9.
 *
 *   npx tsx bench/broker.ts                                    prints JSON on stdout
 *   npx tsx bench/broker.ts --brokers mosquitto --sizes 16384 --qos 0 --rounds 20
 *
 * Imports are relative to the sources so that it runs under tsx without a build.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connectAsync, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { decodeFrame, encodeFrame, FRAME_CRC_LENGTH, FRAME_HEADER_LENGTH, type FrameHeaderInit } from '../protocol/src/frame/index.js';
import { topics } from '../protocol/src/topics.js';
import { connectMqtt, type AkbMqttClient } from '../protocol/src/mqtt/index.js';
import { startAedes } from '../test/support/aedes.js';
import type { BrokerHandle } from '../test/support/broker-handle.js';
import { startMosquitto } from '../test/support/mosquitto.js';
import { findProgram, missingMessage } from '../test/support/programs.js';
import { median } from './measure.js';

type BrokerName = 'mosquitto' | 'aedes';

export interface BrokerBenchOptions {
  sizes?: number[];
  qos?: (0 | 1)[];
  /** Messages per timed run. */
  messages?: number;
  /** Timed rounds per cell; each round runs every path once. */
  rounds?: number;
  /** Messages per path before the timed rounds (JIT, sockets, broker queues). */
  warmup?: number;
  /** Most messages in flight at once. */
  window?: number;
  brokers?: BrokerName[];
}

interface Path {
  /** Sends message `i`. */
  send(i: number): void;
  /** Set by the driver: called once per message received. */
  onReceive: () => void;
  close(): Promise<void>;
}

interface Run {
  msgsPerSec: number;
  /** This process's CPU time (user + system) per message, µs. */
  cpuMicros: number;
}

const PATHS = ['raw', 'protocol', 'wrapper'] as const;
type PathName = (typeof PATHS)[number];

const TARGET = 0.9;

export async function runBrokerBench(options: BrokerBenchOptions = {}): Promise<object> {
  const config = {
    sizes: options.sizes ?? [256, 1024, 16 * 1024],
    qos: options.qos ?? [0, 1],
    messagesPerRun: options.messages ?? 1000,
    rounds: options.rounds ?? 30,
    warmup: options.warmup ?? 2000,
    window: options.window ?? 64,
    brokers: options.brokers ?? ['mosquitto', 'aedes'],
    target: TARGET,
  };
  const results: object[] = [];
  const skipped: { broker: string; reason: string }[] = [];

  for (const name of config.brokers) {
    if (name === 'mosquitto' && findProgram('mosquitto') === undefined) {
      skipped.push({ broker: name, reason: missingMessage('mosquitto', 'mosquitto') });
      continue;
    }
    const broker: BrokerHandle = name === 'mosquitto' ? await startMosquitto() : await startAedes();
    try {
      for (const size of config.sizes) {
        for (const qos of config.qos) {
          const cell = await runCell(broker.url, size, qos, config);
          results.push({ broker: name, size, qos, ...cell });
          process.stderr.write(`bench broker: ${name} ${size} B QoS ${qos}: ratio ${cell.ratio.toFixed(3)}\n`);
        }
      }
    } finally {
      await broker.close();
    }
  }
  const ratios = results.map((r) => (r as { ratio: number }).ratio);
  const wrapperRatios = results.map((r) => (r as { wrapperRatio: number }).wrapperRatio);
  return {
    bench: 'broker',
    what: 'publish→receive messages/s of codec frames through @akb/protocol/mqtt vs raw mqtt.js byte arrays, loopback',
    config,
    results,
    skipped,
    summary: {
      minRatio: ratios.length > 0 ? Math.min(...ratios) : null,
      minWrapperRatio: wrapperRatios.length > 0 ? Math.min(...wrapperRatios) : null,
      meetTarget: `${ratios.filter((r) => r >= TARGET).length} of ${ratios.length}`,
    },
    /** Load of the machine when the run ended: other work on it makes every number noisier. */
    loadAverage: loadavg().map((x) => round(x, 2)),
  };
}

async function runCell(
  url: string,
  size: number,
  qos: 0 | 1,
  config: { messagesPerRun: number; rounds: number; warmup: number; window: number },
): Promise<{ ratio: number } & Record<string, unknown>> {
  const paths: Record<PathName, Path> = {
    raw: await rawPath(url, size, qos),
    protocol: await protocolPath(url, size, qos, true),
    wrapper: await protocolPath(url, size, qos, false),
  };
  const runs: Record<PathName, Run[]> = { raw: [], protocol: [], wrapper: [] };
  try {
    for (let w = 0; w < 2; w++) for (const n of PATHS) await drive(paths[n], config.warmup / 2, config.window);
    for (let r = 0; r < config.rounds; r++) {
      // Rotate the order, so each path runs first, second and third equally often.
      for (let k = 0; k < PATHS.length; k++) {
        const n = PATHS[(r + k) % PATHS.length]!;
        runs[n].push(await drive(paths[n], config.messagesPerRun, config.window));
      }
    }
  } finally {
    for (const n of PATHS) await paths[n].close();
  }
  const rate = (n: PathName): number => median(runs[n].map((x) => x.msgsPerSec));
  const cpu = (n: PathName): number => round(median(runs[n].map((x) => x.cpuMicros)), 2);
  const paired = (n: PathName): number => round(median(runs[n].map((x, i) => x.msgsPerSec / runs.raw[i]!.msgsPerSec)), 3);
  const cpuPaired = (n: PathName): number => round(median(runs[n].map((x, i) => runs.raw[i]!.cpuMicros / x.cpuMicros)), 3);
  const ratio = paired('protocol');
  return {
    rawMsgsPerSec: Math.round(rate('raw')),
    protocolMsgsPerSec: Math.round(rate('protocol')),
    ratio,
    meetsTarget: ratio >= TARGET,
    wrapperMsgsPerSec: Math.round(rate('wrapper')),
    wrapperRatio: paired('wrapper'),
    cpuMicros: { raw: cpu('raw'), protocol: cpu('protocol'), wrapper: cpu('wrapper') },
    /** raw ÷ protocol CPU time per message, paired by round: the ratio this process would reach if its CPU were the bottleneck. */
    cpuRatio: cpuPaired('protocol'),
    codecMicros: round(codecMicros(size), 2),
    runs: Object.fromEntries(PATHS.map((n) => [n, runs[n].map((x) => Math.round(x.msgsPerSec))])),
  };
}

/** Sends `n` messages with at most `window` in flight; messages/s from the send of the first to the receipt of the last. */
async function drive(path: Path, n: number, window: number): Promise<Run> {
  let sent = 0;
  let received = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    let last = received;
    const stall = setInterval(() => {
      if (received === last) {
        clearInterval(stall);
        reject(new Error(`stalled: ${received} of ${n} messages received (${sent} sent)`));
      }
      last = received;
    }, 10_000);
    const fill = (): void => {
      while (sent < n && sent - received < window) path.send(sent++);
    };
    path.onReceive = () => {
      received++;
      if (received === n) {
        clearInterval(stall);
        resolve();
      } else fill();
    };
    fill();
  });
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { msgsPerSec: n / seconds, cpuMicros: (cpu.user + cpu.system) / n };
}

/** The same topic shape and length for every path: `akb/v1/dev/bench-<size>-<qos>-<path>/link/tx`. */
function benchTopic(size: number, qos: 0 | 1, path: 'raw' | 'pro' | 'wrp'): string {
  return topics.linkTx(`bench-${size}-${qos}-${path}`);
}

async function rawPath(url: string, size: number, qos: 0 | 1): Promise<Path> {
  const topic = benchTopic(size, qos, 'raw');
  const pub = await connectRaw(url);
  const sub = await connectRaw(url);
  await sub.subscribeAsync(topic, { qos: 1 });
  const payload = Buffer.alloc(size, 0x5a);
  const publishOptions: IClientPublishOptions = { qos };
  const path: Path = {
    send: () => pub.publish(topic, payload, publishOptions),
    onReceive: () => undefined,
    close: async () => {
      await pub.endAsync();
      await sub.endAsync();
    },
  };
  sub.on('message', (_t: string, bytes: Buffer) => {
    if (bytes.length !== size) throw new Error(`raw: got ${bytes.length} bytes, sent ${size}`);
    path.onReceive();
  });
  return path;
}

async function connectRaw(url: string): Promise<MqttClient> {
  const c = await connectAsync(url, { reconnectPeriod: 0 });
  // As AkbMqttClient does, so that the baseline does not pay for Nagle's algorithm.
  (c.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  c.on('error', (e) => process.stderr.write(`bench broker: raw client error: ${e.message}\n`));
  return c;
}

/** Through AkbMqttClient: codec frames when `codec`, else the same bytes each time. */
async function protocolPath(url: string, size: number, qos: 0 | 1, codec: boolean): Promise<Path> {
  const topic = benchTopic(size, qos, codec ? 'pro' : 'wrp');
  const pub: AkbMqttClient = await connectMqtt({ url, reconnectPeriodMs: 0 });
  const sub: AkbMqttClient = await connectMqtt({ url, reconnectPeriodMs: 0 });
  for (const c of [pub, sub]) c.errors.on((e) => void process.stderr.write(`bench broker: protocol client error: ${e.message}\n`));
  const { header, symbols, payloadBytes } = frameParts(size);
  const fixed = Buffer.alloc(size, 0x5a);
  const publishOptions = { qos };
  const failed = (e: unknown): void => void process.stderr.write(`bench broker: publish failed: ${String(e)}\n`);
  const path: Path = {
    send: (i) => {
      const bytes = codec ? encodeFrame(header(i, Date.now() * 1000), symbols) : fixed;
      pub.publish(topic, bytes, publishOptions).catch(failed);
    },
    onReceive: () => undefined,
    close: async () => {
      await pub.close();
      await sub.close();
    },
  };
  sub.onMessage(topic, (m) => {
    const length = codec ? decodeFrame(m.payload).payload.length : m.payload.length - FRAME_HEADER_LENGTH - FRAME_CRC_LENGTH;
    if (length !== payloadBytes) throw new Error(`protocol: got ${length} payload bytes, sent ${payloadBytes}`);
    path.onReceive();
  });
  await sub.subscribe(topic, { qos: 1 });
  return path;
}

/**
 * The frame header is built as a literal per message, as fragmentSymbols does: spreading a template object
 * with a float field and overriding fields sends V8 down a slow clone path (~2 µs), which would measure the
 * benchmark's idiom, not the protocol.
 */
function frameParts(size: number): { header: (frameId: number, timestampUs: number) => FrameHeaderInit; symbols: Uint8Array; payloadBytes: number } {
  const payloadBytes = size - FRAME_HEADER_LENGTH - FRAME_CRC_LENGTH;
  const symbols = new Uint8Array(payloadBytes).map((_, i) => (i * 37) & 0xff);
  const scale = Math.fround(1 / 64);
  const header = (frameId: number, timestampUs: number): FrameHeaderInit => ({
    dtype: 'int8', hasKbEntry: true, endOfSession: false, actionId: 1, deviceId: 1, sessionId: 1, frameId,
    fragmentIndex: 0, fragmentCount: 1, kbVersion: 1, kbEntry: 0, totalSymbols: payloadBytes / 2,
    symbolOffset: 0, scale, timestampUs,
  });
  return { header, symbols, payloadBytes };
}

/** Microseconds to encode and decode one frame of `size` bytes, as the protocol path does per message (median of 7 warm rounds). */
function codecMicros(size: number): number {
  const { header, symbols } = frameParts(size);
  const n = 2000;
  const once = (): number => {
    const start = performance.now();
    for (let i = 0; i < n; i++) decodeFrame(encodeFrame(header(i, Date.now() * 1000), symbols));
    return ((performance.now() - start) * 1000) / n;
  };
  once();
  return median(Array.from({ length: 7 }, once));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function cliOptions(argv: string[]): BrokerBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string' },
      qos: { type: 'string' },
      brokers: { type: 'string' },
      messages: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      window: { type: 'string' },
    },
  });
  const list = (s: string | undefined): number[] | undefined => s?.split(',').map(Number);
  const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  const opts: BrokerBenchOptions = {};
  const sizes = list(values.sizes);
  const qos = list(values.qos);
  if (sizes !== undefined) opts.sizes = sizes;
  if (qos !== undefined) opts.qos = qos.map((q) => (q === 1 ? 1 : 0));
  if (values.brokers !== undefined) opts.brokers = values.brokers.split(',').map((b) => (b === 'aedes' ? 'aedes' : 'mosquitto'));
  for (const key of ['messages', 'rounds', 'warmup', 'window'] as const) {
    const v = num(values[key]);
    if (v !== undefined) opts[key] = v;
  }
  return opts;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runBrokerBench(cliOptions(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
