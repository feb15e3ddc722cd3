/**
 * The `sdr-udp` link: each fragment (a v1 frame) becomes one IQ burst (link/src/sdr/format.ts: preamble,
 * spread header block, data symbols with pilots) sent as cf32_le samples in UDP datagrams to a GNU Radio
 * flowgraph (link/gnuradio/sdr_channel.py) or any program that reads GNU Radio's UDP format. Datagrams are
 * paced at `sampleRateHz`, and each burst is followed by `guardSamples` zeros (default two datagrams) so
 * that the flowgraph's UDP sink (which sends only whole datagrams) and its blocks with history pass the
 * burst's last samples on. The first send starts with one datagram of zeros: GNU Radio 3.10's UDP source
 * drops the first datagram it receives.
 *
 * A peer that is not listening (ICMP port unreachable on loopback or a LAN) shows as
 * AkbError('SDR_PEER_UNREACHABLE') on `onError` (once per send) and in `stats.sendFailures` (per datagram);
 * the link keeps sending, so it recovers when the flowgraph comes back. Linux reports a refusal on the next
 * send and drops that datagram, so a datagram whose send fails is sent once more. On close, datagrams not yet sent are dropped (their sends resolve).
 * Feedback: with `client`, the link listens on the device's feedback topic.
 */
import { createSocket, type Socket } from 'node:dgram';
import { AkbError, SYMBOL_DTYPES, type SymbolDtype } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import { SigmfRecorder, type SigmfRecorderOptions } from '../emulator/sigmf.js';
import { packetize, samplesPerDatagram, type DatagramOptions } from '../sdr/datagrams.js';
import { burstLayout, type BurstFormatOptions } from '../sdr/format.js';
import { modulateFrame } from '../sdr/modulator.js';
import { LinkBase, type LinkCapabilities } from './driver.js';

export interface SdrUdpLinkOptions extends BurstFormatOptions, DatagramOptions {
  /** Where the flowgraph's UDP source listens (default host 127.0.0.1). */
  host?: string;
  port: number;
  /** Samples per second the datagrams are paced at (default 1e6; 1e3–1e8). */
  sampleRateHz?: number;
  /** Largest fragment, bytes (default 4096; 128–131072: a float32 fragment of 131072 bytes is the gateway's default 16384-symbol limit). */
  mtu?: number;
  dtypes?: readonly SymbolDtype[];
  /** Zero samples after each burst (default: two datagrams' worth; GNU Radio holds the last datagram's worth and a few samples of filter history). */
  guardSamples?: number;
  /** Records every burst sent (SigMF, cf32_le at sampleRateHz, one annotation per frame). */
  record?: Omit<SigmfRecorderOptions, 'sampleRateHz'>;
  /** Feedback from the cloud, on topics.feedback(deviceId). */
  client?: MqttTransport;
  deviceId?: string;
}

interface Queued {
  datagram: Uint8Array;
  /** Called after the last datagram of a send was handed to the socket. */
  done?: () => void;
}

export class SdrUdpLink extends LinkBase {
  readonly name = 'sdr-udp';
  readonly capabilities: LinkCapabilities;
  private readonly queue: Queued[] = [];
  private readonly rate: number;
  private readonly perDatagram: number;
  private readonly guard: number;
  private readonly recorder: SigmfRecorder | undefined;
  private seq = 0n;
  private startedAt = 0;
  private samplesSent = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failedThisSend = false;
  private closed = false;

  private constructor(private readonly o: SdrUdpLinkOptions, private readonly socket: Socket) {
    super();
    burstLayout(o); // checks the format options now
    this.rate = o.sampleRateHz ?? 1e6;
    if (!(this.rate >= 1e3 && this.rate <= 1e8)) throw new AkbError('INVALID_SDR_FORMAT', `sampleRateHz must be from 1e3 to 1e8, not ${this.rate}`);
    this.perDatagram = samplesPerDatagram(o);
    this.guard = o.guardSamples ?? 2 * this.perDatagram;
    const mtu = o.mtu ?? 4096;
    if (!Number.isInteger(mtu) || mtu < 128 || mtu > 131072) throw new AkbError('INVALID_SDR_FORMAT', `mtu must be an integer from 128 to 131072, not ${mtu}`);
    this.capabilities = { mtu, dtypes: o.dtypes ?? SYMBOL_DTYPES, rate: { symbolsPerSecond: this.rate } };
    this.recorder = o.record ? SigmfRecorder.open({ recorder: 'akb sdr-udp link', ...o.record, sampleRateHz: this.rate }) : undefined;
    socket.on('error', (e) => this.peerError(e));
  }

  static async open(o: SdrUdpLinkOptions): Promise<SdrUdpLink> {
    const host = o.host ?? '127.0.0.1';
    const socket = createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(o.port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      socket.close();
      throw new AkbError('SDR_PEER_UNREACHABLE', `cannot address udp ${host}:${o.port}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
    });
    let link: SdrUdpLink;
    try {
      link = new SdrUdpLink(o, socket);
    } catch (e) {
      socket.close();
      throw e;
    }
    if (o.client !== undefined && o.deviceId !== undefined) await link.listenForFeedback(o.client, o.deviceId);
    return link;
  }

  /** Datagrams waiting for their time. */
  get pending(): number {
    return this.queue.length;
  }

  async send(fragments: readonly Uint8Array[]): Promise<void> {
    if (this.closed) throw new AkbError('LINK_CLOSED', 'the sdr-udp link is closed');
    this.check(fragments);
    const bursts = fragments.map((f) => modulateFrame(f, this.o));
    const datagrams: Uint8Array[] = [];
    if (this.seq === 0n) {
      // GNU Radio 3.10's UDP source drops the first datagram it receives: make that one zeros
      datagrams.push(...packetize(new Float32Array(2 * this.perDatagram), this.seq, this.o));
      this.seq++;
    }
    for (const [i, iq] of bursts.entries()) {
      const padded = new Float32Array(iq.length + 2 * this.guard);
      padded.set(iq);
      const part = packetize(padded, this.seq, this.o);
      this.seq += BigInt(part.length);
      datagrams.push(...part);
      this.counters.fragmentsSent++;
      this.counters.bytesSent += fragments[i]!.length;
      this.recorder?.append(iq, { label: 'frame', comment: { bytes: fragments[i]!.length, samples: iq.length / 2 } });
    }
    if (datagrams.length === 0) return;
    this.failedThisSend = false;
    await new Promise<void>((resolve) => {
      if (this.queue.length === 0) {
        this.startedAt = performance.now();
        this.samplesSent = 0;
      }
      datagrams.forEach((datagram, i) => this.queue.push(i === datagrams.length - 1 ? { datagram, done: resolve } : { datagram }));
      this.pump();
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- part of the async driver interface
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const q of this.queue.splice(0)) q.done?.();
    this.stopListening();
    this.recorder?.close();
    this.socket.close();
  }

  private pump(): void {
    this.timer = undefined;
    if (this.closed) return;
    const elapsedMs = performance.now() - this.startedAt;
    while (this.queue.length > 0 && (this.samplesSent / this.rate) * 1000 <= elapsedMs) {
      const q = this.queue.shift()!;
      this.samplesSent += this.perDatagram;
      this.socket.send(q.datagram, (e) => {
        if (!e) return;
        // Linux reports an earlier datagram's ICMP refusal on this send and drops this one: try it once more
        this.socket.send(q.datagram, (again) => {
          if (again) this.peerError(again);
        });
      });
      q.done?.();
    }
    if (this.queue.length > 0) {
      const dueMs = (this.samplesSent / this.rate) * 1000 - elapsedMs;
      this.timer = setTimeout(() => this.pump(), Math.max(1, dueMs));
    }
  }

  private peerError(e: Error): void {
    this.counters.sendFailures++;
    if (this.failedThisSend) return; // one error per send, however many datagrams failed
    this.failedThisSend = true;
    const code = (e as NodeJS.ErrnoException).code ?? e.message;
    this.fail(
      new AkbError('SDR_PEER_UNREACHABLE', `udp ${this.o.host ?? '127.0.0.1'}:${this.o.port} refused samples (${code})`, {
        hint: 'start the flowgraph (link/gnuradio/sdr_channel.py) or the gateway listening there',
        cause: e,
      }),
    );
  }
}
