/**
 * The emulator's per-fragment work (decode, channel, re-encode as float32) against the same work without
 * the channel, in the same run: the ratio (with channel / without) says what the channel models cost on
 * top of the frame codec. Fragments of 1 KiB and 16 KiB of float32 symbols; channels AWGN, block
 * Rayleigh, Gauss-Markov (per-symbol gains), and AWGN with Gilbert-Elliott loss and jitter.
 *
 *   npx tsx bench/link-channel.ts
 */
import { pathToFileURL } from 'node:url';
import { decodeFrame, encodeFrame, fragmentSymbols, packSymbols, unpackSymbols } from '../protocol/src/frame/index.js';
import { seededRandom } from '../protocol/src/index.js';
import { Channel, constantSnr, relayFragment, type ChannelSpec } from '../link/src/index.js';
import { median, measure } from './measure.js';

export interface LinkChannelBenchResult {
  readonly bench: 'link-channel';
  readonly node: string;
  readonly rounds: number;
  readonly roundMs: number;
  readonly results: {
    readonly fragmentBytes: number;
    readonly symbols: number;
    /** Fragments/s of decode + unpack + pack + encode: the baseline. */
    readonly codecOnly: number;
    /** Per channel: fragments/s, complex symbols/s, and the ratio to the baseline. */
    readonly channels: Record<string, { fragmentsPerSec: number; symbolsPerSec: number; ratio: number }>;
  }[];
}

const CHANNELS: Record<string, ChannelSpec> = {
  awgn: { snr: constantSnr(10) },
  rayleigh: { snr: constantSnr(10), fading: { kind: 'rayleigh' } },
  'gauss-markov': { snr: constantSnr(10), fading: { kind: 'gauss-markov', dopplerHz: 10, symbolRateHz: 1e6 } },
  'awgn+loss+jitter': { snr: constantSnr(10), loss: { p: 0.05, r: 0.5, lossBad: 0.8, lossGood: 0.01 }, latency: { latencyMs: 20, jitterMs: 5 } },
};



export async function runLinkChannelBench(options: { rounds?: number; roundMs?: number } = {}): Promise<LinkChannelBenchResult> {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 150;
  const sink = { v: 0 };
  const results: LinkChannelBenchResult['results'] = [];
  for (const symbols of [120, 2040]) {
    const values = Float32Array.from({ length: 2 * symbols }, (_, i) => Math.sin(i));
    const meta = { deviceId: 1, sessionId: 1, frameId: 1, actionId: 0, kbVersion: 1, timestampUs: 0 };
    const [fragment] = fragmentSymbols(meta, values, { mtu: 60 + 8 * symbols, dtype: 'float32' });
    let t = 0;
    const ops: Record<string, () => number> = {
      codecOnly: () => {
        const { header, payload } = decodeFrame(fragment!);
        const v = unpackSymbols(payload, header.dtype, header.scale);
        return encodeFrame({ ...header, headerLength: undefined }, packSymbols(v, 'float32').payload).length;
      },
    };
    for (const [name, spec] of Object.entries(CHANNELS)) {
      const channel = new Channel(spec, seededRandom(1));
      ops[name] = () => {
        const out = relayFragment(channel, 'bench', fragment!, (t += 1));
        return out.kind === 'relayed' ? out.bytes.length : 0;
      };
    }
    for (const op of Object.values(ops)) measure(op, roundMs, sink);
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, op] of Object.entries(ops)) samples[name]!.push(measure(op, roundMs, sink));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const base = median(samples.codecOnly!);
    const channels: LinkChannelBenchResult['results'][number]['channels'] = {};
    for (const name of Object.keys(CHANNELS)) {
      const rate = median(samples[name]!);
      channels[name] = { fragmentsPerSec: Math.round(rate), symbolsPerSec: Math.round(rate * symbols), ratio: Number((rate / base).toFixed(4)) };
    }
    results.push({ fragmentBytes: fragment!.length, symbols, codecOnly: Math.round(base), channels });
  }
  if (sink.v === Number.MIN_VALUE) console.log(sink.v);
  return { bench: 'link-channel', node: process.version, rounds, roundMs, results };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runLinkChannelBench(), null, 2));
}
