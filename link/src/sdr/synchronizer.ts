/**
 * RX: a stream of IQ samples in, v1 frames out. Finds preambles by correlation, estimates the multipath
 * channel from the preamble and runs the burst through an MMSE equalizer (multipath.ts; `channelTaps: 1`
 * skips it), decodes the header block, waits for the burst's data, tracks gain and phase on the pilots and
 * rebuilds the frame as float32 with the header fields sent (as the emulator relays it). Bounded: the
 * buffer holds at most one largest burst and two preambles (and the equalizer's scratch one largest burst);
 * samples more than EQUALIZER_MARGIN before the search point are discarded. Hostile input never throws:
 * bursts that fail are counted.
 */
import { AkbError, crc32c, decodeFrame, encodeFrame, packSymbols, BYTES_PER_VALUE, FRAME_CRC_LENGTH, RX_SNR_LIMIT_DB, type FrameHeader } from '@akb/protocol';
import { BodyEqualizer, estimatePreamble, preambleMetric } from './demod.js';
import { MAX_CHANNEL_TAPS, MultipathEqualizer, estimateChannel, tapMagnitudes } from './multipath.js';
import { HEADER_BLOCK_BYTES, PILOT_SPACING, PREAMBLE_LENGTH, burstLayout, burstSamples, decodeHeaderBlock, type BurstFormatOptions, type BurstLayout } from './format.js';

export interface SynchronizerOptions extends BurstFormatOptions {
  /** Detection threshold on the preamble metric (0–1; default 0.5: about 0 dB SNR still detects, noise alone stays near 0.22). */
  threshold?: number;
  /** Largest burst accepted, complex data symbols (default 16384). */
  maxSymbols?: number;
  /**
   * Channel taps estimated from the preamble (1–8, default 4: consecutive delays that hold the strongest
   * path, placed where the most energy is, so echoes up to 3 samples after it or before it); the equalizer
   * has 4 taps per channel tap. 1: no
   * equalizer, one complex gain tracked on the pilots (echoes act as interference). With the equalizer a
   * burst is complete once start + lag samples after it are in (the filter's look-ahead, at most 38; the
   * link's guard zeros provide them), or when `flush` is called.
   */
  channelTaps?: number;
}

/** Samples kept before a detected preamble: the equalizer reads up to 7 + 31 of them (precursor taps and filter span). */
const EQUALIZER_MARGIN = 64;

export interface ReceivedBurst {
  /** The rebuilt v1 frame (float32 symbols, scale 1). */
  frame: Uint8Array;
  header: FrameHeader;
  /** Equalized symbols, interleaved I,Q. */
  values: Float32Array;
  /**
   * The channel's SNR, dB: the power of all paths over the noise, from the least-squares fit on the
   * preamble (with `channelTaps: 1`, from preamble and pilots around the one gain: echoes count as noise).
   */
  snrDb: number;
  /**
   * SNR of the equalized symbols (noise and what is left of the echoes), dB, from the pilots' residuals
   * around the tracked gain (with `channelTaps: 1`, equal to `snrDb`). Most pilots sit between runs of
   * equal header chips, whose leftover echoes differ from those of data symbols: against the data symbols
   * measured over 100 bursts it read −0.02 dB flat, +0.1 on [1, 0.3], +0.12 (10 dB) to +0.35 dB (5 dB)
   * on [1, 0, 0.4j], −0.03 to −0.10 on [0.8, 0.5, 0.2].
   */
  equalizedSnrDb: number;
  /** Estimated tap magnitudes in delay order, normalized to unit total power ([1] with `channelTaps: 1`). */
  taps: number[];
  /** Index in `taps` of the path the timing locked on (the strongest correlation). */
  mainTap: number;
  /** Frequency offset, cycles per sample. */
  cfo: number;
  /** Stream position of the preamble's first sample. */
  sampleIndex: number;
  /** Detection metric at the preamble. */
  metric: number;
}

export interface SynchronizerStats {
  samples: number;
  detections: number;
  frames: number;
  /** Detections whose header block failed its CRC or fields. */
  headerFailures: number;
  /** Header blocks that passed but carried a v1 header the frame codec refused. */
  frameFailures: number;
  /** Pending bursts dropped by `abandon()` or `flush()` (the stream stopped mid-burst). */
  abandoned: number;
}

interface PendingBurst {
  /** Buffer position of the preamble's first sample. */
  d: number;
  metric: number;
  symbols?: number;
  header?: Uint8Array;
  channel?: { eq: MultipathEqualizer; snrDb: number; taps: number[]; mainTap: number };
}

export class Synchronizer {
  readonly stats: SynchronizerStats = { samples: 0, detections: 0, frames: 0, headerFailures: 0, frameFailures: 0, abandoned: 0 };
  private readonly layout: BurstLayout;
  private readonly threshold: number;
  private readonly maxSymbols: number;
  private readonly buf: Float32Array;
  private readonly channelTaps: number;
  /** Equalized samples of the current burst, position 0 at its preamble (allocated when channelTaps > 1). */
  private readonly eqBuf: Float32Array | undefined;
  /** Set while `flush` completes a burst without the samples after it (read as zeros). */
  private flushing = false;
  /** Samples in buf; buf's sample 0 is stream sample `base`. */
  private len = 0;
  private base = 0;
  private scan = 0;
  private burst: PendingBurst | undefined;

  constructor(o: SynchronizerOptions = {}) {
    this.layout = burstLayout(o);
    this.threshold = o.threshold ?? 0.5;
    this.maxSymbols = o.maxSymbols ?? 16384;
    if (!(this.threshold > 0 && this.threshold < 1)) throw new AkbError('INVALID_SDR_FORMAT', `threshold must be between 0 and 1, not ${this.threshold}`);
    if (!Number.isInteger(this.maxSymbols) || this.maxSymbols < 1 || this.maxSymbols > 1 << 20) {
      throw new AkbError('INVALID_SDR_FORMAT', `maxSymbols must be an integer from 1 to 2^20, not ${this.maxSymbols}`);
    }
    this.channelTaps = o.channelTaps ?? 4;
    if (!Number.isInteger(this.channelTaps) || this.channelTaps < 1 || this.channelTaps > MAX_CHANNEL_TAPS) {
      throw new AkbError('INVALID_SDR_FORMAT', `channelTaps must be an integer from 1 to ${MAX_CHANNEL_TAPS}, not ${this.channelTaps}`);
    }
    this.buf = new Float32Array(2 * (burstSamples(this.layout, this.maxSymbols) + 4 * PREAMBLE_LENGTH));
    this.eqBuf = this.channelTaps > 1 ? new Float32Array(2 * burstSamples(this.layout, this.maxSymbols)) : undefined;
  }

  /** Whether a detected burst is waiting for the rest of its samples. */
  get pending(): boolean {
    return this.burst !== undefined;
  }

  /** Interleaved I,Q values in (an odd last value is ignored); the bursts completed by them out. */
  push(values: Float32Array): ReceivedBurst[] {
    const out: ReceivedBurst[] = [];
    const count = Math.floor(values.length / 2);
    this.stats.samples += count;
    const room = this.buf.length / 2 - 2 * PREAMBLE_LENGTH;
    for (let at = 0; at < count; ) {
      this.compact();
      const n = Math.min(count - at, this.buf.length / 2 - this.len, room);
      this.buf.set(values.subarray(2 * at, 2 * (at + n)), 2 * this.len);
      this.len += n;
      at += n;
      this.process(out);
    }
    return out;
  }

  /** Drops a burst that is waiting for samples (the caller's timeout); true if there was one. */
  abandon(): boolean {
    if (this.burst === undefined) return false;
    this.scan = this.burst.d + PREAMBLE_LENGTH;
    this.burst = undefined;
    this.stats.abandoned++;
    return true;
  }

  /**
   * The stream stopped (the caller's timeout): completes a pending burst whose own samples are all in
   * (samples the equalizer would read after it count as zeros), else drops it as `abandon` does.
   */
  flush(): ReceivedBurst[] {
    const out: ReceivedBurst[] = [];
    if (this.burst === undefined) return out;
    this.flushing = true;
    try {
      this.process(out);
    } finally {
      this.flushing = false;
    }
    this.abandon();
    return out;
  }

  private compact(): void {
    const keep = Math.max(0, (this.burst?.d ?? this.scan) - EQUALIZER_MARGIN);
    if (keep === 0) return;
    this.buf.copyWithin(0, 2 * keep, 2 * this.len);
    this.len -= keep;
    this.base += keep;
    this.scan -= keep;
    if (this.burst) this.burst.d -= keep;
  }

  private process(out: ReceivedBurst[]): void {
    for (;;) {
      if (this.burst === undefined) {
        if (!this.search()) return;
      }
      const b = this.burst!;
      if (this.eqBuf !== undefined && b.channel === undefined) b.channel = this.designEqualizer(b.d);
      const after = this.flushing ? 0 : Math.max(0, b.channel?.eq.lookahead ?? 0);
      if (b.symbols === undefined) {
        if (b.d + burstSamples(this.layout, 0) + after > this.len) return;
        this.readHeader(b);
        continue;
      }
      const total = burstSamples(this.layout, b.symbols);
      if (b.d + total + after > this.len) {
        // a burst longer than the buffer cannot happen: maxSymbols bounds it and the buffer holds the largest
        return;
      }
      this.readData(b, out);
    }
  }

  /** Advances the search; true when a burst was found (this.burst set). */
  private search(): boolean {
    while (this.scan + 2 * PREAMBLE_LENGTH <= this.len) {
      const m = preambleMetric(this.buf, this.scan);
      if (m < this.threshold) {
        this.scan++;
        continue;
      }
      let best = this.scan;
      let bestMetric = m;
      for (let d = this.scan + 1; d < this.scan + PREAMBLE_LENGTH; d++) {
        const v = preambleMetric(this.buf, d);
        if (v > bestMetric) {
          best = d;
          bestMetric = v;
        }
      }
      this.stats.detections++;
      this.burst = { d: best, metric: bestMetric };
      return true;
    }
    return false;
  }

  /** The channel estimate and equalizer from the preamble at buffer position d (all 256 samples are in). */
  private designEqualizer(d: number): PendingBurst['channel'] {
    const omega = estimatePreamble(this.buf, d).omega;
    const est = estimateChannel(this.buf, d, omega, this.channelTaps);
    const snrDb = 10 * Math.log10(Math.max(est.power, 1e-30) / Math.max(est.noiseVar, 1e-30));
    return { eq: new MultipathEqualizer(est, omega), snrDb, taps: tapMagnitudes(est.taps), mainTap: -est.start };
  }

  /** Samples [from, to) of the burst after the equalizer (or as received without one): the buffer and its offset to read them at. */
  private equalized(b: PendingBurst, from: number, to: number): { src: Float32Array; at: number } {
    if (this.eqBuf === undefined || b.channel === undefined) return { src: this.buf, at: b.d };
    b.channel.eq.run(this.buf, b.d, this.len, this.eqBuf, from, to);
    return { src: this.eqBuf, at: 0 };
  }

  private readHeader(b: PendingBurst): void {
    const chips = this.layout.headerChips;
    const { src, at } = this.equalized(b, 0, burstSamples(this.layout, 0));
    const eq = new BodyEqualizer(src, at, chips, chips / PILOT_SPACING + 1, estimatePreamble(src, at));
    const bytes = new Uint8Array(HEADER_BLOCK_BYTES);
    const r = this.layout.headerSpreading;
    for (let bit = 0; bit < HEADER_BLOCK_BYTES * 8; bit++) {
      let soft = 0;
      for (let c = 0; c < r; c++) soft += eq.soft(bit * r + c);
      if (soft > 0) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
    }
    const block = decodeHeaderBlock(bytes, this.maxSymbols);
    if ('error' in block) {
      this.stats.headerFailures++;
      this.scan = b.d + PREAMBLE_LENGTH;
      this.burst = undefined;
      return;
    }
    b.symbols = block.symbols;
    b.header = block.frameHeader;
  }

  private readData(b: PendingBurst, out: ReceivedBurst[]): void {
    const symbols = b.symbols!;
    const chips = this.layout.headerChips;
    const body = chips + symbols;
    const { src, at } = this.equalized(b, burstSamples(this.layout, 0), burstSamples(this.layout, symbols));
    const pre = estimatePreamble(src, at);
    // with the equalizer, the preamble it was designed on would flatter the residual: the SNR is from the pilots alone
    const eq = new BodyEqualizer(src, at, body, Math.ceil(body / PILOT_SPACING) + 1, b.channel ? { ...pre, residual: 0, dof: 0 } : pre);
    const values = new Float32Array(2 * symbols);
    for (let s = 0; s < symbols; s++) {
      const [re, im] = eq.equalize(chips + s);
      values[2 * s] = re;
      values[2 * s + 1] = im;
    }
    this.scan = b.d + burstSamples(this.layout, symbols);
    this.burst = undefined;
    const header = sentHeader(b.header!, symbols);
    if (header === undefined) {
      this.stats.frameFailures++;
      return;
    }
    const equalizedSnrDb = eq.snr().snrDb;
    // Protocol 1.3 RX_SNR: the SNR of the symbols as this frame carries them, so the cloud need not guess it.
    const rxSnrDb = Number.isFinite(equalizedSnrDb) ? Math.fround(Math.max(-RX_SNR_LIMIT_DB, Math.min(RX_SNR_LIMIT_DB, equalizedSnrDb))) : undefined;
    let frame: Uint8Array;
    try {
      const { headerLength: _sent, ...fields } = header;
      frame = encodeFrame({ ...fields, dtype: 'float32', scale: 1, ...(rxSnrDb === undefined ? {} : { rxSnrDb }) }, packSymbols(values, 'float32').payload);
    } catch {
      this.stats.frameFailures++;
      return;
    }
    this.stats.frames++;
    const ch = b.channel;
    const omega = (ch?.eq.omega ?? 0) + pre.omega;
    out.push({
      frame, header, values, equalizedSnrDb, cfo: omega / (2 * Math.PI), sampleIndex: this.base + b.d, metric: b.metric,
      snrDb: ch?.snrDb ?? equalizedSnrDb, taps: ch?.taps ?? [1], mainTap: ch?.mainTap ?? 0,
    });
  }
}

/** The v1 header sent, checked by the frame decoder (over the header, a zero payload of its length and a CRC). */
function sentHeader(bytes: Uint8Array, symbols: number): FrameHeader | undefined {
  const payloadLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(44, true);
  if (payloadLength > 8 * symbols) return undefined; // bounded before allocating
  const frame = new Uint8Array(bytes.length + payloadLength + FRAME_CRC_LENGTH);
  frame.set(bytes);
  const body = frame.length - FRAME_CRC_LENGTH;
  new DataView(frame.buffer).setUint32(body, crc32c(frame.subarray(0, body)), true);
  try {
    const { header } = decodeFrame(frame);
    return 2 * symbols * BYTES_PER_VALUE[header.dtype] === payloadLength ? header : undefined;
  } catch {
    return undefined;
  }
}
