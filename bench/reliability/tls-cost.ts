/**
 * The cost of TLS on the link: codec frames (1 KiB, int8 symbols) published at QoS 1 from an edge client to
 * a cloud client through one private Mosquitto, over its plain TCP listener and over its TLS listener
 * (client certificates required, made by `akb fleet provision` as users make them), rounds alternated so
 * both see the same machine. Frames/s = frames received ÷ time from the first publish to the last arrival,
 * at most `window` unacknowledged, after one unmeasured round of each; the ratio TLS ÷ TCP per round pair,
 * and its median.
 */
import { connectMqtt, type AkbMqttClient, type MqttTlsOptions } from '../../protocol/src/mqtt/index.js';
import { makeFrame } from '../../test/support/frames.js';
import { startMosquitto } from '../../test/support/mosquitto.js';
import { makePki, tlsOf } from '../../test/security/pki.js';

export interface TlsCostOptions {
  rounds?: number;
  frames?: number;
  frameBytes?: number;
  window?: number;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

export async function measureTlsCost(o: TlsCostOptions = {}): Promise<object> {
  const rounds = o.rounds ?? 6;
  const frames = o.frames ?? 4000;
  const frameBytes = o.frameBytes ?? 1024;
  const window = o.window ?? 64;
  const pki = await makePki({ devices: ['bench-edge'], services: ['bench-cloud'] });
  const broker = await startMosquitto({ tlsListeners: [{ cafile: pki.ca, certfile: pki.broker.cert, keyfile: pki.broker.key, requireCertificate: true }] });
  try {
    const tcp: number[] = [];
    const tls: number[] = [];
    const edgeTls = await tlsOf(pki, 'bench-edge');
    const cloudTls = await tlsOf(pki, 'bench-cloud');
    // One unmeasured round of each first: the JIT and the broker's buffers warm up.
    await round(broker.url, undefined, undefined, frames / 4, frameBytes, window, -1);
    await round(broker.tlsUrls[0]!, edgeTls, cloudTls, frames / 4, frameBytes, window, -1);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['tcp', 'tls'] as const) : (['tls', 'tcp'] as const);
      for (const kind of order) {
        const perSec = kind === 'tcp'
          ? await round(broker.url, undefined, undefined, frames, frameBytes, window, r)
          : await round(broker.tlsUrls[0]!, edgeTls, cloudTls, frames, frameBytes, window, r);
        (kind === 'tcp' ? tcp : tls).push(perSec);
      }
    }
    const ratios = tcp.map((t, i) => tls[i]! / t);
    return {
      what: `${frames} frames of ${frameBytes} B per round, QoS 1, at most ${window} in flight, edge → Mosquitto → cloud; TLS 1.3 with client certificates (EC P-256) vs plain TCP`,
      rounds,
      tcpFramesPerSec: Math.round(median(tcp)),
      tlsFramesPerSec: Math.round(median(tls)),
      ratio: Math.round(median(ratios) * 1000) / 1000,
      perRound: { tcp: tcp.map(Math.round), tls: tls.map(Math.round) },
    };
  } finally {
    await broker.close();
    await pki.close();
  }
}

async function round(url: string, edgeTls: MqttTlsOptions | undefined, cloudTls: MqttTlsOptions | undefined, frames: number, frameBytes: number, window: number, r: number): Promise<number> {
  const tag = `${process.pid}-${r}-${url.startsWith('mqtts') ? 's' : 'p'}`;
  const cloud = await connectMqtt({ url, clientId: `bench-cloud-${tag}`, ...(cloudTls ? { tls: cloudTls } : {}) });
  const edge = await connectMqtt({ url, clientId: `bench-edge-${tag}`, ...(edgeTls ? { tls: edgeTls } : {}) });
  const clients: AkbMqttClient[] = [cloud, edge];
  try {
    const topic = `akb/v1/dev/bench-edge/link/tx`;
    let received = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    cloud.onMessage(topic, () => {
      if (++received === frames) done();
    });
    await cloud.subscribe(topic, { qos: 1 });
    const payloads = Array.from({ length: 16 }, (_, i) => makeFrame(frameBytes, i));
    const t0 = performance.now();
    let inFlight = 0;
    let release: (() => void) | undefined;
    for (let i = 0; i < frames; i++) {
      while (inFlight >= window) await new Promise<void>((res) => (release = res));
      inFlight++;
      void edge.publish(topic, payloads[i % payloads.length]!, { qos: 1 }).finally(() => {
        inFlight--;
        const go = release;
        release = undefined;
        go?.();
      });
    }
    await all;
    return frames / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all(clients.map((c) => c.close({ force: true })));
  }
}
