/**
 * A channel composed of the models in this folder, applied to one block of symbols at a time (a frame, or
 * one fragment of it): Gilbert–Elliott loss of the whole block, flat fading y = h·z, complex AWGN at the
 * SNR the trace gives for the block's time, optional coherent equalization, and a delay.
 *
 * Conventions: symbols are interleaved I,Q float32 values with unit average power per complex symbol
 * (what a JSCC encoder sends), so the SNR in dB is Es/N0 = −10 log10 σ². With fading the instantaneous
 * SNR is SNR + 10 log10 |h|² (`effectiveSnrDb`). With `equalize` (the default) the receiver divides by
 * its estimate of h (perfect CSI here), so it sees z + n/h; without, it sees h·z + n and the gain
 * travels as side information.
 */
import { AkbError } from '@akb/protocol';
import { addAwgn, noiseVariance, toDb } from '@akb/protocol';
import { createFading, type FadingProcess, type FadingSpec } from './fading.js';
import { GilbertElliott, type GilbertElliottParams } from './gilbert-elliott.js';
import { LatencyModel, type LatencySpec } from './latency.js';
import { seededRandom, type Complex, type RandomSource } from '@akb/protocol';
import type { SnrTrace } from './snr-trace.js';

export interface ChannelSpec {
  /** SNR over time, dB. */
  snr: SnrTrace;
  /** Default: none (pure AWGN). */
  fading?: FadingSpec;
  /** Divide by the receiver's (perfect) estimate of h. Default true. */
  equalize?: boolean;
  /** Whole-block loss; default none. */
  loss?: GilbertElliottParams;
  /** Delay handed back with each block; default 0 ms. */
  latency?: LatencySpec;
}

/** What the receiver learns about the block besides its symbols. */
export interface ChannelSideInfo {
  /** The trace's SNR for this block, dB (for a unit-power signal, before fading). */
  snrDb: number;
  /** The channel gain the receiver is given: the block's h, or its first symbol's when h varies. */
  gain: Complex;
  /** Mean |h|² over the block, dB (0 without fading). */
  gainDb: number;
  /** snrDb + gainDb: the SNR the block actually had, dB. */
  effectiveSnrDb: number;
  /** Whether the symbols were divided by h. */
  equalized: boolean;
}

export type ChannelOutput =
  | { lost: true; snrDb: number; delayMs: 0 }
  | ({ lost: false; values: Float32Array; delayMs: number } & ChannelSideInfo);

/** Where a block sits: its frame (fading is per frame) and when it is sent. */
export interface BlockTime {
  /** Blocks with the same key share block fading (e.g. "device/session/frame"). */
  frameKey: string;
  /** When the block is sent, ms on any clock that only moves forward. */
  timeMs: number;
}

/** A sub-stream of `random`, so each model's draws do not shift when another model is switched on. */
function fork(random: RandomSource): RandomSource {
  return seededRandom(Math.floor(random() * 2 ** 32));
}

export class Channel {
  readonly spec: Readonly<ChannelSpec>;
  private readonly fading: FadingProcess;
  private readonly loss: GilbertElliott | undefined;
  private readonly latency: LatencyModel | undefined;
  private readonly noiseRandom: RandomSource;
  private originMs: number | undefined;
  /** An SNR fixed by `pinSnr` (channel.set), replacing the trace; fading and loss stay. */
  private pinnedDb: number | undefined;

  constructor(spec: ChannelSpec, random: RandomSource) {
    this.spec = { ...spec };
    const lossRandom = fork(random);
    const fadingRandom = fork(random);
    const latencyRandom = fork(random);
    this.noiseRandom = fork(random);
    this.loss = spec.loss === undefined ? undefined : new GilbertElliott(spec.loss, lossRandom);
    this.fading = createFading(spec.fading ?? { kind: 'none' }, fadingRandom);
    this.latency = spec.latency === undefined ? undefined : new LatencyModel(spec.latency, latencyRandom);
  }

  /** A one-line description of the channel, for logs and recordings. */
  describe(): string {
    const s = this.spec;
    const fading = s.fading ?? { kind: 'none' };
    const parts = [`SNR ${s.snr.description}`, fading.kind === 'none' ? 'AWGN' : `${fading.kind} fading${fading.phaseBlind === true ? ' (|h|)' : ''}`];
    if (fading.kind === 'gauss-markov') parts.push(`Doppler ${fading.dopplerHz} Hz at ${fading.symbolRateHz} symbols/s`);
    if (s.loss) parts.push(`Gilbert-Elliott loss p=${s.loss.p} r=${s.loss.r} bad=${s.loss.lossBad} good=${s.loss.lossGood}`);
    if (s.latency) parts.push(`latency ${s.latency.latencyMs} ± ${s.latency.jitterMs ?? 0} ms`);
    return parts.join(', ');
  }

  /** From now on the SNR is `snrDb` whatever the trace says (undefined: follow the trace again). */
  pinSnr(snrDb: number | undefined): void {
    this.pinnedDb = snrDb;
  }

  /** The SNR fixed by `pinSnr`, if any. */
  get pinnedSnrDb(): number | undefined {
    return this.pinnedDb;
  }

  /**
   * The SNR a block sent at `timeMs` would have, dB: the pinned one, else the trace's (undefined before
   * the first block, when the trace has not started).
   */
  snrDbAt(timeMs: number): number | undefined {
    if (this.pinnedDb !== undefined) return this.pinnedDb;
    return this.originMs === undefined ? undefined : this.spec.snr.snrDbAt(timeMs - this.originMs);
  }

  /** Sends one block of interleaved I,Q values through the channel; the input is not changed. */
  transmit(values: Float32Array, at: BlockTime): ChannelOutput {
    if (values.length % 2 !== 0) {
      throw new AkbError('BAD_SYMBOLS', `${values.length} values are not whole complex symbols`, { hint: 'interleave I and Q' });
    }
    this.originMs ??= at.timeMs;
    const elapsedMs = at.timeMs - this.originMs;
    const snrDb = this.pinnedDb ?? this.spec.snr.snrDbAt(elapsedMs);
    if (this.loss?.lose() === true) return { lost: true, snrDb, delayMs: 0 };
    const symbols = values.length / 2;
    const g = this.fading.gains(at.frameKey, symbols, elapsedMs / 1000);
    const equalize = this.spec.equalize ?? true;
    const out = new Float32Array(values.length);
    const std = Math.sqrt(noiseVariance(snrDb) / 2);
    if (g.perSymbol === undefined && g.first.re === 1 && g.first.im === 0) {
      out.set(values);
      addAwgn(out, snrDb, this.noiseRandom);
    } else {
      for (let s = 0; s < symbols; s++) {
        const hr = g.perSymbol ? g.perSymbol[2 * s]! : g.first.re;
        const hi = g.perSymbol ? g.perSymbol[2 * s + 1]! : g.first.im;
        const zr = values[2 * s]!;
        const zi = values[2 * s + 1]!;
        // Both outputs of one Box–Muller pair: independent N(0, σ²/2) on I and on Q.
        const radius = std * Math.sqrt(-2 * Math.log(1 - this.noiseRandom()));
        const angle = 2 * Math.PI * this.noiseRandom();
        let yr = hr * zr - hi * zi + radius * Math.cos(angle);
        let yi = hr * zi + hi * zr + radius * Math.sin(angle);
        if (equalize) {
          // y / h = y · conj(h) / |h|²; a gain of exactly 0 (probability 0) leaves y as it is.
          const p = hr * hr + hi * hi;
          if (p > 0) [yr, yi] = [(yr * hr + yi * hi) / p, (yi * hr - yr * hi) / p];
        }
        out[2 * s] = yr;
        out[2 * s + 1] = yi;
      }
    }
    const gainDb = toDb(g.meanPower);
    return {
      lost: false,
      values: out,
      delayMs: this.latency?.sample() ?? 0,
      snrDb,
      gain: g.first,
      gainDb,
      effectiveSnrDb: snrDb + gainDb,
      equalized: equalize && this.spec.fading !== undefined && this.spec.fading.kind !== 'none',
    };
  }
}
