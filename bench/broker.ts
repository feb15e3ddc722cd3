/**
 * Broker throughput: protocol frames through the akb MQTT layer against raw mqtt.js byte arrays of the
 * same size, in the same run, through Mosquitto (own instance on a free loopback port; skipped with a
 * note when absent) and through the embedded aedes.
 *
 *   protocol: encodeFrame → AkbMqttClient.publish → broker → onMessage handler → decodeFrame
 *   raw:      mqtt.js publish(Buffer)            → broker → 'message' listener (length check)
 *   wrapper:  AkbMqttClient.publish(same bytes)  → broker → onMessage handler (length check)
 *
 * `wrapper` separates the cost of the MQTT layer from that of the frame codec (CRC-32C over the whole
 * frame on both sides), which is reported per message as `codecMicros`, measured in the same run.
 *
 * Each run sends a bounded number of messages with at most `window` in flight (sent, not yet received),
 * so neither side overruns the broker's queues. Runs alternate baseline and protocol (and which goes
 * first) to spread drift, repeat, and report medians; ratio = protocol msgs/s / raw msgs/s (target ≥ 0.9).
 *
 *   npx tsx bench/broker.ts            prints JSON on stdout
 *
 * Imports are relative to the sources so that it runs under tsx without a build.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { decodeFrame, encodeFrame, FRAME_CRC_LENGTH, FRAME_HEADER_LENGTH, type FrameHeaderInit } from '../protocol/src/frame/index.js';
import { topics } from '../protocol/src/topics.js';
import { connectMqtt, type AkbMqttClient } from '../protocol/src/mqtt/index.js';
import { startAedes } from '../test/support/aedes.js';
import type { BrokerHandle } from '../test/support/broker-handle.js';
import { startMosquitto } from '../test/support/mosquitto.js';
import { findProgram, missingMessage } from '../test/support/programs.js';
import { median } from './measure.js';

export interface BrokerBenchOptions {
  sizes?: number[];
  qos?: (0 | 1)[];
  /** Messages per run. */
  messages?: number;
  repeats?: number;
  /** Most messages in flight at once. */
  window?: number;
  brokers?: ('mosquitto' | 'aedes')[];
}

interface Path {
  /** Sends message `i`. */
  send(i: number): void;
  /** Set by the driver: called once per message received. */
  onReceive: () => void;
  close(): Promise<void>;
}

const TARGET = 0.9;

export async function runBrokerBench(options: BrokerBenchOptions = {}): Promise<object> {
  const sizes = options.sizes ?? [256, 1024, 16 * 1024];
  const qosLevels = options.qos ?? [0, 1];
  const messages = options.messages ?? 3000;
  const repeats = options.repeats ?? 5;
  const window = options.window ?? 64;
  const results: object[] = [];
  const skipped: { broker: string; reason: string }[] = [];

  for (const name of options.brokers ?? ['mosquitto', 'aedes']) {
    if (name === 'mosquitto' && findProgram('mosquitto') === undefined) {
      skipped.push({ broker: name, reason: missingMessage('mosquitto', 'mosquitto') });
      continue;
    }
    const broker: BrokerHandle = name === 'mosquitto' ? await startMosquitto() : await startAedes();
    try {
      for (const size of sizes) {
        for (const qos of qosLevels) {
          const paths = {
            raw: await rawPath(broker.url, size, qos),
            protocol: await protocolPath(broker.url, size, qos, true),
            wrapper: await protocolPath(broker.url, size, qos, false),
          };
          const names = Object.keys(paths) as (keyof typeof paths)[];
          const runs: Record<keyof typeof paths, number[]> = { raw: [], protocol: [], wrapper: [] };
          try {
            for (const n of names) await drive(paths[n], Math.min(500, messages), window); // warm-up: JIT, sockets
            for (let r = 0; r < repeats; r++) {
              // Rotate the order, so each path runs first, second and third equally often.
              for (let k = 0; k < names.length; k++) {
                const n = names[(r + k) % names.length]!;
                runs[n].push(await drive(paths[n], messages, window));
              }
            }
            const raw = median(runs.raw);
            const ratio = median(runs.protocol) / raw;
            results.push({
              broker: name,
              size,
              qos,
              rawMsgsPerSec: Math.round(raw),
              protocolMsgsPerSec: Math.round(median(runs.protocol)),
              ratio: round(ratio, 3),
              meetsTarget: ratio >= TARGET,
              wrapperMsgsPerSec: Math.round(median(runs.wrapper)),
              wrapperRatio: round(median(runs.wrapper) / raw, 3),
              codecMicros: round(codecMicros(size), 2),
              runs: { raw: runs.raw.map(Math.round), protocol: runs.protocol.map(Math.round), wrapper: runs.wrapper.map(Math.round) },
            });
            process.stderr.write(`bench broker: ${name} ${size} B QoS ${qos}: ratio ${ratio.toFixed(3)}\n`);
          } finally {
            for (const n of names) await paths[n].close();
          }
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
    config: { sizes, qos: qosLevels, messagesPerRun: messages, repeats, window, target: TARGET },
    results,
    skipped,
    summary: {
      minRatio: ratios.length > 0 ? Math.min(...ratios) : null,
      minWrapperRatio: wrapperRatios.length > 0 ? Math.min(...wrapperRatios) : null,
      allMeetTarget: ratios.every((r) => r >= TARGET),
    },
    /** Load of the machine when the run ended: other work on it makes every number noisier. */
    loadAverage: loadavg().map((x) => round(x, 2)),
  };
}

/** Sends `n` messages with at most `window` in flight; resolves with messages/s, send of the first to receipt of the last. */
async function drive(path: Path, n: number, window: number): Promise<number> {
  let sent = 0;
  let received = 0;
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
  return n / ((performance.now() - start) / 1000);
}

async function rawPath(url: string, size: number, qos: 0 | 1): Promise<Path> {
  const topic = `bench/raw/${size}/${qos}`;
  const pub = await connectRaw(url);
  const sub = await connectRaw(url);
  await sub.subscribeAsync(topic, { qos: 1 });
  const payload = Buffer.alloc(size, 0x5a);
  const path: Path = {
    send: () => pub.publish(topic, payload, { qos }),
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
  const topic = topics.linkTx(`bench-${size}-${qos}-${codec ? 'codec' : 'bytes'}`);
  const pub: AkbMqttClient = await connectMqtt({ url, reconnectPeriodMs: 0 });
  const sub: AkbMqttClient = await connectMqtt({ url, reconnectPeriodMs: 0 });
  for (const c of [pub, sub]) c.errors.on((e) => void process.stderr.write(`bench broker: protocol client error: ${e.message}\n`));
  const { header, symbols, payloadBytes } = frameParts(size);
  const fixed = Buffer.alloc(size, 0x5a);
  const path: Path = {
    send: (i) => {
      const bytes = codec ? encodeFrame(header(i, Date.now() * 1000), symbols) : fixed;
      pub.publish(topic, bytes, { qos }).catch((e: unknown) => process.stderr.write(`bench broker: publish failed: ${String(e)}\n`));
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

/** Microseconds to encode and decode one frame of `size` bytes, as the protocol path does per message. */
function codecMicros(size: number): number {
  const { header, symbols } = frameParts(size);
  const n = 2000;
  const start = performance.now();
  for (let i = 0; i < n; i++) decodeFrame(encodeFrame(header(i, Date.now() * 1000), symbols));
  return ((performance.now() - start) * 1000) / n;
}


function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runBrokerBench();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
