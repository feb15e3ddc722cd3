/**
 * The foundation demo: symbol frames over a real MQTT broker. An edge (with birth and last-will status)
 * fragments each frame's complex symbols to a radio-sized MTU and publishes them on its link/tx topic; a
 * channel stage drops fragments in bursts (Gilbert–Elliott) and adds complex AWGN at the set SNR, then
 * publishes on link/rx; a receiver reassembles, treating lost fragments as erasures, and measures what
 * arrived against what was sent. The trained encoder and decoder replace the synthetic symbols later.
 */
import { addAwgn, decodeFrame, encodeFrame, fragmentSymbols, measureSnrDb, type ReassembledFrame, Reassembler, seededRandom, type StatusOnline, type SymbolDtype, topics, unitPowerSymbols, unpackSymbols } from '@akb/protocol';
import { connectDevice, connectMqtt, type AkbMqttClient, type MqttTlsOptions } from '@akb/protocol/mqtt';
import { GilbertElliott, type GilbertElliottParams } from '@akb/link';

export interface FramesDemoOptions {
  /** Broker to use; the caller starts the embedded one when there is none. */
  brokerUrl: string;
  /** TLS for an mqtts:// broker (PEM contents), given to every connection the demo makes. */
  tls?: MqttTlsOptions;
  deviceId?: string;
  frames?: number;
  /** Complex symbols per frame: 256 is k/n = 1/12 for a 32x32 RGB image. */
  symbolsPerFrame?: number;
  snrDb?: number;
  mtu?: number;
  dtype?: SymbolDtype;
  loss?: GilbertElliottParams;
  seed?: number;
  onFrame?: (report: FrameReport) => void;
  onStatus?: (line: string) => void;
}

export interface FrameReport {
  frameId: number;
  fragments: number;
  lostFragments: number[];
  erasedSymbols: number;
  totalSymbols: number;
  /** Signal-to-noise ratio measured on the symbols that arrived, in dB. */
  measuredSnrDb: number;
  latencyMs: number;
}

export interface FramesDemoResult {
  reports: FrameReport[];
  fragmentsSent: number;
  fragmentsDropped: number;
  statusLines: string[];
}

const DEFAULT_LOSS: GilbertElliottParams = { p: 0.05, r: 0.5, lossBad: 0.8, lossGood: 0.01 };

export async function runFramesDemo(options: FramesDemoOptions): Promise<FramesDemoResult> {
  const device = options.deviceId ?? 'demo-edge';
  const frames = options.frames ?? 16;
  const symbols = options.symbolsPerFrame ?? 256;
  const snrDb = options.snrDb ?? 5;
  const mtu = options.mtu ?? 128;
  const dtype = options.dtype ?? 'int8';
  const random = seededRandom(options.seed ?? 1);
  const loss = new GilbertElliott(options.loss ?? DEFAULT_LOSS, random);
  const url = options.brokerUrl;
  const tls = options.tls === undefined ? {} : { tls: options.tls };
  const statusLines: string[] = [];
  const clients: AkbMqttClient[] = [];

  try {
    const observer = await connectMqtt({ url, ...tls, clientId: `demo-observer-${process.pid}` });
    clients.push(observer);
    let births = 0;
    let deaths = 0;
    observer.onMessage(topics.status(device), (m) => {
      if (m.payload.length === 0) return;
      const s = JSON.parse(m.payload.toString('utf8')) as { state: string; session: number };
      if (s.state === 'online') births += 1;
      else deaths += 1;
      const line = `status  ${device} ${s.state} (session ${s.session})`;
      statusLines.push(line);
      options.onStatus?.(line);
    });
    await observer.subscribe(topics.status(device), { qos: 1 });

    const sent = new Map<number, { values: Float32Array; at: number }>();
    const reports: FrameReport[] = [];
    const reassembler = new Reassembler({ timeoutMs: 400, maxPendingFrames: 64, maxTotalSymbols: 1 << 20 });
    const deliver = (f: ReassembledFrame): void => {
      const report = measure(f, sent.get(f.header.frameId));
      reports.push(report);
      options.onFrame?.(report);
    };
    const receiver = await connectMqtt({ url, ...tls, clientId: `demo-cloud-${process.pid}` });
    clients.push(receiver);
    receiver.onMessage(topics.linkRx(device), (m) => {
      const done = reassembler.push(m.payload);
      if (done) deliver(done);
    });
    await receiver.subscribe(topics.linkRx(device), { qos: 1 });
    const expiry = setInterval(() => reassembler.expire().forEach(deliver), 50);

    let fragmentsDropped = 0;
    const channel = await connectMqtt({ url, ...tls, clientId: `demo-channel-${process.pid}` });
    clients.push(channel);
    channel.onMessage(topics.linkTx(device), async (m) => {
      if (loss.lose()) {
        fragmentsDropped += 1;
        return;
      }
      const { header, payload } = decodeFrame(m.payload);
      const rx = unpackSymbols(payload, header.dtype, header.scale);
      addAwgn(rx, snrDb, random);
      // A receiver hands on what it measured as float32: no second quantization.
      const out = encodeFrame({ ...header, dtype: 'float32', scale: 1 }, new Uint8Array(rx.buffer, rx.byteOffset, rx.byteLength));
      await channel.publish(topics.linkRx(device), out, { qos: 1 });
    });
    await channel.subscribe(topics.linkTx(device), { qos: 1 });

    const edge = await connectDevice({ url, ...tls, deviceId: device, birth: (session) => demoBirth(device, session) });
    clients.push(edge);
    let fragmentsSent = 0;
    for (let frameId = 0; frameId < frames; frameId++) {
      const values = unitPowerSymbols(symbols, random);
      sent.set(frameId, { values, at: performance.now() });
      const fragments = fragmentSymbols(
        { deviceId: 1, sessionId: edge.session, frameId, actionId: 0, kbVersion: 0, timestampUs: Date.now() * 1000 },
        values,
        { mtu, dtype },
      );
      for (const fragment of fragments) await edge.publish(topics.linkTx(device), fragment, { qos: 1 });
      fragmentsSent += fragments.length;
    }
    await waitFor(() => reports.length >= frames, 10_000);
    clearInterval(expiry);
    reassembler.flush().forEach(deliver);
    await edge.close();
    clients.splice(clients.indexOf(edge), 1);
    await waitFor(() => deaths >= 1 && births >= 1, 2000);
    reports.sort((a, b) => a.frameId - b.frameId);
    return { reports, fragmentsSent, fragmentsDropped, statusLines };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
  }
}

/** The birth certificate of a demo edge. */
export function demoBirth(device: string, session: number): StatusOnline {
  const now = Date.now();
  return {
    v: 1,
    device,
    session,
    ts: now,
    state: 'online',
    profile: 'generic-x64',
    bootTime: now,
    versions: { runtime: '0.1.0', protocol: '1.0', models: [], kb: null },
    capabilities: ['demo'],
  };
}

function measure(f: ReassembledFrame, tx: { values: Float32Array; at: number } | undefined): FrameReport {
  const erased = f.received.reduce((n, r) => n + (r ? 0 : 1), 0);
  return {
    frameId: f.header.frameId,
    fragments: f.header.fragmentCount,
    lostFragments: f.missingFragments,
    erasedSymbols: erased,
    totalSymbols: f.header.totalSymbols,
    measuredSnrDb: tx ? measureSnrDb(tx.values, f.values, f.received) : Number.NaN,
    latencyMs: tx ? performance.now() - tx.at : Number.NaN,
  };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}
