/**
 * Flat fading: the complex gain h that multiplies each transmitted symbol, y = h·z + n. Every model has
 * E|h|² = 1, so fading changes the instantaneous SNR (by |h|², in dB 10 log10 |h|²) but not the average.
 *
 * - `rayleigh`: block fading, one h ~ CN(0, 1) per frame (all fragments of a frame share it).
 * - `rician`: block fading with a line-of-sight part, h = sqrt(K/(K+1)) + sqrt(1/(K+1)) CN(0, 1).
 * - `gauss-markov`: time-varying, one h per symbol: h_t = rho h_{t−1} + sqrt(1 − rho²) w_t, w_t ~ CN(0, 1),
 *   rho = J0(2π fD T) with T = 1 / symbol rate. Across a gap of Δt seconds between fragments it steps
 *   once with J0(2π fD Δt), so the process follows real time.
 * - `phaseBlind` (any model): the channel applies |h| instead of h, the variant used where the receiver
 *   has no phase reference (and the side information is |h|).
 */
import { AkbError } from '@akb/protocol';
import { jakesCorrelation } from './bessel.js';
import { complexGaussian, type Complex, type RandomSource } from '@akb/protocol';

export type FadingSpec =
  | { kind: 'none' }
  | { kind: 'rayleigh'; phaseBlind?: boolean }
  | { kind: 'rician'; kFactor: number; phaseBlind?: boolean }
  | { kind: 'gauss-markov'; dopplerHz: number; symbolRateHz: number; phaseBlind?: boolean };

/** The gains of one block of symbols: the same for all (`perSymbol` absent), or one per symbol. */
export interface FadingGains {
  /** The block's gain, or the first symbol's when it varies. */
  readonly first: Complex;
  /** Interleaved re,im per symbol, for time-varying fading; absent when `first` holds for every symbol. */
  readonly perSymbol?: Float32Array;
  /** Mean |h|² over the block's symbols (linear). */
  readonly meanPower: number;
}

export interface FadingProcess {
  /** Gains for `symbols` symbols of frame `frameKey`, the first sent at `timeS` seconds. */
  gains(frameKey: string, symbols: number, timeS: number): FadingGains;
}

const UNIT: FadingGains = { first: { re: 1, im: 0 }, meanPower: 1 };
const REMEMBERED_FRAMES = 64;

export function createFading(spec: FadingSpec, random: RandomSource): FadingProcess {
  switch (spec.kind) {
    case 'none':
      return { gains: () => UNIT };
    case 'rayleigh':
      return new BlockFading(() => complexGaussian(random), spec.phaseBlind === true);
    case 'rician': {
      const k = spec.kFactor;
      if (!(k >= 0 && Number.isFinite(k))) throw new AkbError('INVALID_CHANNEL', `Rician K factor ${k} must be finite and >= 0 (linear)`);
      const los = Math.sqrt(k / (k + 1));
      return new BlockFading(() => {
        const w = complexGaussian(random, 1 / (k + 1));
        return { re: los + w.re, im: w.im };
      }, spec.phaseBlind === true);
    }
    case 'gauss-markov':
      return new GaussMarkovFading(spec.dopplerHz, spec.symbolRateHz, random, spec.phaseBlind === true);
  }
}

function blind(h: Complex, phaseBlind: boolean): Complex {
  return phaseBlind ? { re: Math.hypot(h.re, h.im), im: 0 } : h;
}

/** One gain per frame key, remembered for the last 64 frames so interleaved fragments keep theirs. */
export class BlockFading implements FadingProcess {
  private readonly frames = new Map<string, FadingGains>();

  constructor(
    private readonly draw: () => Complex,
    private readonly phaseBlind: boolean,
  ) {}

  gains(frameKey: string): FadingGains {
    let g = this.frames.get(frameKey);
    if (g === undefined) {
      const h = blind(this.draw(), this.phaseBlind);
      g = { first: h, meanPower: h.re * h.re + h.im * h.im };
      this.frames.set(frameKey, g);
      if (this.frames.size > REMEMBERED_FRAMES) this.frames.delete(this.frames.keys().next().value as string);
    }
    return g;
  }
}

/** Jakes-correlated Rayleigh fading as a first-order Gauss–Markov process, one step per symbol. */
export class GaussMarkovFading implements FadingProcess {
  /** Correlation between consecutive symbols, J0(2π fD / symbol rate). */
  readonly rho: number;
  private h: Complex | undefined;
  private nextTimeS = 0;

  constructor(
    readonly dopplerHz: number,
    readonly symbolRateHz: number,
    private readonly random: RandomSource,
    private readonly phaseBlind = false,
  ) {
    if (!(dopplerHz >= 0 && Number.isFinite(dopplerHz))) {
      throw new AkbError('INVALID_CHANNEL', `Doppler ${dopplerHz} Hz must be finite and >= 0`, { hint: 'fD = v f_c / c, e.g. 4 Hz for walking at 868 MHz' });
    }
    if (!(symbolRateHz > 0 && Number.isFinite(symbolRateHz))) {
      throw new AkbError('INVALID_CHANNEL', `symbol rate ${symbolRateHz} Hz must be finite and > 0`);
    }
    this.rho = jakesCorrelation(dopplerHz, 1 / symbolRateHz);
  }

  /** One step of h_t = rho h_{t-1} + sqrt(1 - rho²) w_t. */
  private step(rho: number): Complex {
    const prev = this.h;
    if (prev === undefined) return (this.h = complexGaussian(this.random));
    const w = complexGaussian(this.random, Math.max(0, 1 - rho * rho));
    return (this.h = { re: rho * prev.re + w.re, im: rho * prev.im + w.im });
  }

  gains(_frameKey: string, symbols: number, timeS: number): FadingGains {
    // `h` is always the gain of the next symbol due at `nextTimeS`. Within a fragment, or fragments back
    // to back, the process steps once per symbol; a gap in time moves it on by the correlation over it.
    if (this.h === undefined) this.step(this.rho);
    else if (timeS > this.nextTimeS) this.step(jakesCorrelation(this.dopplerHz, timeS - this.nextTimeS));
    const first = blind(this.h!, this.phaseBlind);
    const perSymbol = new Float32Array(2 * symbols);
    let power = 0;
    for (let i = 0; i < symbols; i++) {
      const h = i === 0 ? first : blind(this.step(this.rho), this.phaseBlind);
      perSymbol[2 * i] = h.re;
      perSymbol[2 * i + 1] = h.im;
      power += h.re * h.re + h.im * h.im;
    }
    if (symbols > 0) this.step(this.rho);
    this.nextTimeS = Math.max(timeS, this.nextTimeS) + symbols / this.symbolRateHz;
    return { first, perSymbol, meanPower: symbols > 0 ? power / symbols : first.re * first.re + first.im * first.im };
  }
}
