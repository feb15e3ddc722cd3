/**
 * Frame codec throughput against the cheapest possible transport in the same run: allocating and copying
 * the same bytes, which any sender must do anyway. The ratio (codec / copy) is what to compare between
 * machines and commits; absolute numbers on these shared machines are noise.
 *
 *   npx tsx bench/codec.ts
 */
import { pathToFileURL } from 'node:url';
import { crc32c, decodeFrame, encodeFrame, type FrameHeaderInit } from '../protocol/src/frame/index.js';
import { median, measure } from './measure.js';

export interface CodecBenchOptions {
  /** Payload sizes in bytes; default 256 B, 1 KiB and 16 KiB. */
  readonly sizes?: readonly number[];
  /** Timed rounds per measurement (the median is reported). */
  readonly rounds?: number;
  /** Milliseconds per round. */
  readonly roundMs?: number;
  /** Milliseconds of warm-up before the rounds. */
  readonly warmupMs?: number;
}

interface Rate {
  readonly opsPerSec: number;
  readonly mbPerSec: number;
}

interface SizeResult {
  readonly payloadBytes: number;
  readonly frameBytes: number;
  /** encodeFrame then decodeFrame of one frame. */
  readonly codec: Rate;
  /** encodeFrame alone (header checks, a pooled or new array, the payload copy, one CRC pass). */
  readonly encode: Rate;
  /** decodeFrame alone (checks, one CRC pass, the header object). */
  readonly decode: Rate;
  /** new Uint8Array(frameBytes) and set() of the frame: the zero-logic baseline. */
  readonly copy: Rate;
  /** crc32c over the frame alone, to show where the codec's time goes. */
  readonly crc32c: Rate;
  /** codec throughput / copy throughput (1 = as fast as a copy). */
  readonly ratio: number;
}

export interface CodecBenchResult {
  readonly bench: 'codec';
  readonly node: string;
  readonly rounds: number;
  readonly roundMs: number;
  readonly results: SizeResult[];
}

const MB = 1e6;

function header(payloadBytes: number): FrameHeaderInit {
  return {
    dtype: 'float16', hasKbEntry: true, endOfSession: false, actionId: 3, deviceId: 0xa1b2, sessionId: 0x5e551011,
    frameId: 7, fragmentIndex: 0, fragmentCount: 1, kbVersion: 12, kbEntry: 42, totalSymbols: payloadBytes / 4,
    symbolOffset: 0, scale: 1, timestampUs: 1_767_225_600_000_000,
  };
}

export async function runCodecBench(options: CodecBenchOptions = {}): Promise<CodecBenchResult> {
  const sizes = options.sizes ?? [256, 1024, 16 * 1024];
  const rounds = options.rounds ?? 9;
  const roundMs = options.roundMs ?? 100;
  const warmupMs = options.warmupMs ?? 300;
  const sink = { v: 0 };
  const results: SizeResult[] = [];
  for (const payloadBytes of sizes) {
    const payload = Uint8Array.from({ length: payloadBytes }, (_, i) => (i * 2654435761) >>> 24);
    const h = header(payloadBytes);
    const frame = encodeFrame(h, payload);
    const ops = {
      codec: () => decodeFrame(encodeFrame(h, payload)).payload.length,
      encode: () => encodeFrame(h, payload).length,
      decode: () => decodeFrame(frame).payload.length,
      copy: () => {
        const out = new Uint8Array(frame.length);
        out.set(frame);
        return out[frame.length - 1]!;
      },
      crc32c: () => crc32c(frame),
    };
    for (const op of Object.values(ops)) measure(op, warmupMs, sink);
    const samples: Record<keyof typeof ops, number[]> = { codec: [], encode: [], decode: [], copy: [], crc32c: [] };
    // Interleave the rounds, so a slow patch of the machine hits every measurement alike.
    for (let r = 0; r < rounds; r++) {
      for (const name of Object.keys(ops) as (keyof typeof ops)[]) samples[name].push(measure(ops[name], roundMs, sink));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const rate = (name: keyof typeof ops): Rate => {
      const opsPerSec = median(samples[name]);
      return { opsPerSec: Math.round(opsPerSec), mbPerSec: Math.round((opsPerSec * payloadBytes) / MB) };
    };
    const codec = rate('codec');
    const copy = rate('copy');
    results.push({
      payloadBytes,
      frameBytes: frame.length,
      codec,
      encode: rate('encode'),
      decode: rate('decode'),
      copy,
      crc32c: rate('crc32c'),
      ratio: Number((median(samples.codec) / median(samples.copy)).toFixed(4)),
    });
  }
  if (sink.v === Number.MIN_VALUE) console.log(sink.v); // keeps the sink observable
  return { bench: 'codec', node: process.version, rounds, roundMs, results };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runCodecBench(), null, 2));
}
