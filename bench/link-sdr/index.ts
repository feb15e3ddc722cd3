/**
 * bench/link-sdr: time to send one CIFAR-10 image and one Kodak image over the sdr-udp link, edge to
 * gateway over loopback UDP (no flowgraph: GNU Radio's UDP source drops samples above ~90k/s on this
 * machine, see link/gnuradio/README.md), at 1 MS/s and 200 kS/s. An image at k/n = 1/12 is one frame of
 * 256 complex symbols per 32×32 tile (float32, one fragment each): CIFAR one tile, Kodak (768×512) 384.
 * Baseline, in the same run: the burst format's own duration, the samples of each burst (preamble, spread
 * header block, symbols with pilots, guard zeros) over the sample rate; `ratio` = wall / that. Also
 * `symbolShare`: data symbols over samples on air.
 *
 *   npx tsx bench/link-sdr/index.ts
 */
import { pathToFileURL } from 'node:url';
import { fragmentSymbols, seededRandom } from '../../protocol/src/index.js';
import { SdrUdpGateway, SdrUdpLink, modulateFrame, type ReceivedBurst } from '../../link/src/index.js';

const SYMBOLS_PER_TILE = 256;
const GUARD = 2 * 183;

function tileFrame(frameId: number, rand: () => number): Uint8Array {
  const values = new Float32Array(2 * SYMBOLS_PER_TILE).map(() => (rand() - 0.5) * 2);
  const meta = { deviceId: 7, sessionId: 1, frameId, actionId: 7, kbVersion: 0, timestampUs: 1_767_225_600_000_000 + frameId };
  return fragmentSymbols(meta, values, { mtu: 4096, dtype: 'float32' })[0]!;
}

async function sendImage(rate: number, tiles: number, firstId: number): Promise<object> {
  const rand = seededRandom(firstId + 1);
  const frames = Array.from({ length: tiles }, (_, i) => tileFrame(firstId + i, rand));
  const onAirSamples = frames.reduce((n, f) => n + modulateFrame(f).length / 2 + GUARD, 0);
  const gateway = await SdrUdpGateway.open({ port: 0, deviceId: 'bench' });
  const link = await SdrUdpLink.open({ port: gateway.port, sampleRateHz: rate });
  const seen = new Set<number>();
  let last = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  gateway.onBurst((b: ReceivedBurst) => {
    seen.add(b.header.frameId);
    last = performance.now();
    if (seen.size === tiles) resolveAll();
  });
  try {
    const t0 = performance.now();
    for (const f of frames) await link.send([f]);
    const sent = performance.now();
    await Promise.race([all, new Promise((r) => setTimeout(r, 2000 + ((onAirSamples / rate) * 1000) / 2))]);
    const wallS = ((seen.size === tiles ? last : sent) - t0) / 1000;
    // The first send carries one extra datagram of zeros (GNU Radio drops the first it receives).
    const formatS = (onAirSamples + 183) / rate;
    return {
      tiles,
      received: seen.size,
      missing: gateway.stats.missing,
      samples: onAirSamples,
      symbolShare: (tiles * SYMBOLS_PER_TILE) / onAirSamples,
      formatSeconds: formatS,
      wallSeconds: wallS,
      ratio: wallS / formatS,
    };
  } finally {
    await link.close();
    await gateway.close();
  }
}

export async function runLinkSdrBench(): Promise<object> {
  const out: Record<string, object> = {};
  for (const rate of [1e6, 2e5]) {
    out[`${rate / 1e3}kSps`] = { cifar: await sendImage(rate, 1, 0), kodak: await sendImage(rate, 384, 1000) };
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await runLinkSdrBench(), null, 2)}\n`);
}
