/**
 * An IQ channel in Node for the sdr-udp link, standing where link/gnuradio/sdr_channel.py would: it takes
 * cf32_le datagrams in GNU Radio's UDP format (header type 1 by default) on a UDP port, adds complex AWGN
 * and a frequency offset to every sample, and sends each datagram on to the gateway, header unchanged.
 *
 * Conventions are the emulator's: the signal is taken as unit power per complex sample, so the noise
 * variance per complex sample is 10^(−SNR/10) (the flowgraph's noise voltage 10^(−SNR/20)); the draws come
 * from the protocol's seeded RNG (`addAwgn`), so a relay with the same seed adds the same noise. The
 * frequency offset is a phase e^{j2π f n} over the running sample count n (cycles per sample, as GNU
 * Radio's channel_model). The SNR changes through `setSnr` (a ChannelTarget, so channel.set reaches it).
 *
 * Untrusted input: a datagram that is not the configured size (header + whole samples, at most
 * `payloadBytes`) is dropped and counted (`malformed`); nothing a sender does stops the relay.
 */
import { createSocket, type Socket } from 'node:dgram';
import { AkbError, addAwgn, seededRandom, type RandomSource } from '@akb/protocol';
import type { ChannelTarget } from './control.js';

export interface IqRelayOptions {
  /** Where the gateway listens. */
  outPort: number;
  outHost?: string;
  /** Port to listen on (default 0: one the kernel picks, see `port`). */
  port?: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** `seq`: GNU Radio header type 1, 8 bytes (default); `none`: raw samples. */
  header?: 'seq' | 'none';
  /** Largest datagram, header included (default 1472, GNU Radio's and SdrUdpLink's). */
  payloadBytes?: number;
  /** SNR applied until `setSnr`, dB (default 10). */
  snrDb?: number;
  /** Frequency offset, cycles per sample (default 0; |f| ≤ 0.5). */
  freqOffset?: number;
  /** Seed of the noise draws (default 1). */
  seed?: number;
  /** The device whose samples these are (channel.set names it); undefined: whichever. */
  device?: string;
}

export interface IqRelayStats {
  datagrams: number;
  forwarded: number;
  malformed: number;
  samples: number;
  sendFailures: number;
}

export class IqRelay implements ChannelTarget {
  private snr: number;
  private readonly random: RandomSource;
  private readonly headerBytes: number;
  private readonly maxBytes: number;
  private readonly freq: number;
  /** The phase of the next sample, cycles in [0, 1). */
  private phase = 0;
  private closed = false;
  private readonly counters: IqRelayStats = { datagrams: 0, forwarded: 0, malformed: 0, samples: 0, sendFailures: 0 };

  private constructor(private readonly o: IqRelayOptions, private readonly socket: Socket, readonly port: number) {
    this.snr = o.snrDb ?? 10;
    this.random = seededRandom(o.seed ?? 1);
    this.headerBytes = (o.header ?? 'seq') === 'seq' ? 8 : 0;
    this.maxBytes = o.payloadBytes ?? 1472;
    this.freq = o.freqOffset ?? 0;
    socket.on('message', (m) => this.relay(m));
    socket.on('error', () => void this.counters.sendFailures++);
  }

  static async open(o: IqRelayOptions): Promise<IqRelay> {
    const payload = o.payloadBytes ?? 1472;
    if (!Number.isInteger(payload) || payload < 24 || payload > 65507) throw new AkbError('INVALID_SDR_FORMAT', `payloadBytes must be an integer from 24 to 65507, not ${payload}`);
    const f = o.freqOffset ?? 0;
    if (!(Math.abs(f) <= 0.5)) throw new AkbError('BAD_OPTION', `freqOffset is -0.5 to 0.5 cycles per sample, not ${f}`);
    checkSnr(o.snrDb ?? 10);
    const socket = createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
    const port = await new Promise<number>((resolve, reject) => {
      socket.once('error', (e: NodeJS.ErrnoException) => {
        socket.close();
        reject(new AkbError('SDR_BIND_FAILED', `cannot listen on udp ${o.host ?? '127.0.0.1'}:${o.port ?? 0}: ${e.code ?? e.message}`, { hint: 'pick a free port', cause: e }));
      });
      socket.bind(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve(socket.address().port));
    });
    return new IqRelay(o, socket, port);
  }

  get device(): string | undefined {
    return this.o.device;
  }

  get snrDb(): number {
    return this.snr;
  }

  get stats(): Readonly<IqRelayStats> {
    return { ...this.counters };
  }

  setSnr(snrDb: number, device?: string): string[] {
    checkSnr(snrDb);
    this.snr = snrDb;
    const d = device ?? this.o.device;
    return d === undefined ? [] : [d];
  }

  snrState(): { defaultSnrDb: number | undefined; devices: { device: string; snrDb: number | undefined; pinned: boolean }[] } {
    return { defaultSnrDb: this.snr, devices: this.o.device === undefined ? [] : [{ device: this.o.device, snrDb: this.snr, pinned: true }] };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private relay(m: Buffer): void {
    if (this.closed) return;
    this.counters.datagrams++;
    const body = m.length - this.headerBytes;
    if (m.length > this.maxBytes || body <= 0 || body % 8 !== 0) {
      this.counters.malformed++;
      return;
    }
    const out = new Uint8Array(m.length);
    out.set(m);
    const view = new DataView(out.buffer);
    const values = new Float32Array(body / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(this.headerBytes + 4 * i, true);
    if (this.freq !== 0) this.rotate(values);
    addAwgn(values, this.snr, this.random);
    for (let i = 0; i < values.length; i++) view.setFloat32(this.headerBytes + 4 * i, values[i]!, true);
    this.counters.samples += values.length / 2;
    this.socket.send(out, this.o.outPort, this.o.outHost ?? '127.0.0.1', (e) => {
      if (e) this.counters.sendFailures++;
      else this.counters.forwarded++;
    });
  }

  private rotate(values: Float32Array): void {
    for (let i = 0; i + 1 < values.length; i += 2) {
      const c = Math.cos(2 * Math.PI * this.phase);
      const s = Math.sin(2 * Math.PI * this.phase);
      this.phase = (this.phase + this.freq + 1) % 1;
      const re = values[i]!;
      const im = values[i + 1]!;
      values[i] = re * c - im * s;
      values[i + 1] = re * s + im * c;
    }
  }
}

function checkSnr(snrDb: number): void {
  if (!(snrDb >= -50 && snrDb <= 60)) throw new AkbError('BAD_OPTION', `an SNR is -50 to 60 dB, not ${snrDb}`);
}
