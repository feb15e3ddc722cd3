/**
 * RX arithmetic on one burst whose preamble starts at sample `d` of a buffer of interleaved I,Q values:
 * frequency offset and phase from the preamble, residual offset and slow gain/phase drift from the
 * pilots, equalization, header bits by soft combining of their chips, and the SNR from the residuals of
 * preamble and pilots around the fitted gains.
 */
import { PILOT_SPACING, PILOTS, PREAMBLE, PREAMBLE_LENGTH, PREAMBLE_SEGMENTS } from './format.js';

const SEGMENT = PREAMBLE_LENGTH / PREAMBLE_SEGMENTS;
/** Pilots on either side averaged into one gain (65 pilots, about 1100 samples: slow fading and phase drift are followed, the estimate adds about 0.07 dB of noise). */
const PILOT_WINDOW = 32;

/**
 * Detection metric at `d` (needs PREAMBLE_LENGTH samples from d): the preamble correlation of each segment
 * combined by magnitude, over sqrt(L · energy). 1 for a clean preamble, about sqrt(s/(1+s)) at linear SNR s,
 * about 0.22 on noise alone.
 */
export function preambleMetric(buf: Float32Array, d: number): number {
  let energy = 0;
  let sum = 0;
  let at = 2 * d;
  for (let s = 0; s < PREAMBLE_SEGMENTS; s++) {
    let re = 0;
    let im = 0;
    for (let n = s * SEGMENT; n < (s + 1) * SEGMENT; n++, at += 2) {
      const i = buf[at]!;
      const q = buf[at + 1]!;
      const p = PREAMBLE[n]!;
      re += i * p;
      im += q * p;
      energy += i * i + q * q;
    }
    sum += Math.hypot(re, im);
  }
  return energy > 1e-20 ? sum / Math.sqrt(PREAMBLE_LENGTH * energy) : 0;
}

export interface PreambleEstimate {
  /** Frequency offset, radians per sample. */
  omega: number;
  /** Complex gain at the preamble's first sample, after removing the offset. */
  gainRe: number;
  gainIm: number;
  /** Residual energy around the fit and its degrees of freedom. */
  residual: number;
  dof: number;
}

/**
 * Offset by lag products at lags 8, 16 and 64 (each refining the last; unambiguous up to ±1/16 cycles per
 * sample), then the gain and residual. Not lag 1: with echoes one sample before and after the path the
 * timing locked on, z[n+1]·conj(z[n]) holds a constant h₊₁·conj(h₋₁) that does not average out (a
 * precursor of 0.6j and an echo of 0.3 turned it into a wrong lag-16 unwrap in 6 bursts of 20); a lag k
 * is biased only by paths k samples either side, beyond the 8-tap channel the equalizer models.
 */
export function estimatePreamble(buf: Float32Array, d: number): PreambleEstimate {
  const zr = new Float64Array(PREAMBLE_LENGTH);
  const zi = new Float64Array(PREAMBLE_LENGTH);
  for (let n = 0; n < PREAMBLE_LENGTH; n++) {
    zr[n] = buf[2 * (d + n)]! * PREAMBLE[n]!;
    zi[n] = buf[2 * (d + n) + 1]! * PREAMBLE[n]!;
  }
  let omega = 0;
  for (const lag of [8, 16, 64]) {
    let re = 0;
    let im = 0;
    for (let n = 0; n + lag < PREAMBLE_LENGTH; n++) {
      // z[n+lag] conj(z[n]), then remove the offset found so far
      re += zr[n + lag]! * zr[n]! + zi[n + lag]! * zi[n]!;
      im += zi[n + lag]! * zr[n]! - zr[n + lag]! * zi[n]!;
    }
    const c = Math.cos(-omega * lag);
    const s = Math.sin(-omega * lag);
    omega += Math.atan2(re * s + im * c, re * c - im * s) / lag;
  }
  let gr = 0;
  let gi = 0;
  for (let n = 0; n < PREAMBLE_LENGTH; n++) {
    const c = Math.cos(-omega * n);
    const s = Math.sin(-omega * n);
    gr += zr[n]! * c - zi[n]! * s;
    gi += zr[n]! * s + zi[n]! * c;
  }
  gr /= PREAMBLE_LENGTH;
  gi /= PREAMBLE_LENGTH;
  let residual = 0;
  for (let n = 0; n < PREAMBLE_LENGTH; n++) {
    const c = Math.cos(-omega * n);
    const s = Math.sin(-omega * n);
    residual += (zr[n]! * c - zi[n]! * s - gr) ** 2 + (zr[n]! * s + zi[n]! * c - gi) ** 2;
  }
  return { omega, gainRe: gr, gainIm: gi, residual, dof: PREAMBLE_LENGTH - 1 };
}

/** Sample offset (from the preamble's start) of body symbol i. */
export function bodyOffset(i: number): number {
  return PREAMBLE_LENGTH + i + Math.floor(i / PILOT_SPACING) + 1;
}

/** Sample offset of pilot k of a body of `bodySymbols` (the last pilot follows the last symbol). */
export function pilotOffset(k: number, bodySymbols: number): number {
  const groups = Math.ceil(bodySymbols / PILOT_SPACING);
  return k < groups ? PREAMBLE_LENGTH + k * (PILOT_SPACING + 1) : PREAMBLE_LENGTH + bodySymbols + groups;
}

/** Gains along a body, from its pilots: `equalize(i)` gives body symbol i divided by its gain. */
export class BodyEqualizer {
  private readonly pos: Float64Array;
  private readonly gr: Float64Array;
  private readonly gi: Float64Array;
  private readonly omega: number;
  readonly residual: number;
  readonly dof: number;
  /** Mean |gain|^2 over the pilots. */
  readonly power: number;

  /** `pilots`: how many of the body's pilots to use (all of them that precede or follow the symbols wanted). */
  constructor(private readonly buf: Float32Array, private readonly d: number, bodySymbols: number, pilots: number, pre: PreambleEstimate) {
    const K = pilots;
    this.pos = new Float64Array(K);
    const qr = new Float64Array(K);
    const qi = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const n = pilotOffset(k, bodySymbols);
      this.pos[k] = n;
      const [re, im] = this.derotated(n, pre.omega);
      const p = PILOTS[k % PILOTS.length]!;
      qr[k] = re * p;
      qi[k] = im * p;
    }
    // residual offset from pilot pairs 1, 8 and 32 pilots apart (each lag refining the last, as in the preamble)
    let residualOmega = 0;
    const step = PILOT_SPACING + 1;
    for (const lag of [1, 8, 32]) {
      let re = 0;
      let im = 0;
      for (let k = 0; k + lag < K; k++) {
        if (this.pos[k + lag]! - this.pos[k]! !== lag * step) continue;
        re += qr[k + lag]! * qr[k]! + qi[k + lag]! * qi[k]!;
        im += qi[k + lag]! * qr[k]! - qr[k + lag]! * qi[k]!;
      }
      if (re === 0 && im === 0) break;
      const c = Math.cos(-residualOmega * lag * step);
      const sn = Math.sin(-residualOmega * lag * step);
      residualOmega += Math.atan2(re * sn + im * c, re * c - im * sn) / (lag * step);
    }
    this.omega = pre.omega + residualOmega;
    for (let k = 0; k < K; k++) {
      const c = Math.cos(-residualOmega * this.pos[k]!);
      const s = Math.sin(-residualOmega * this.pos[k]!);
      const r = qr[k]! * c - qi[k]! * s;
      qi[k] = qr[k]! * s + qi[k]! * c;
      qr[k] = r;
    }
    this.gr = new Float64Array(K);
    this.gi = new Float64Array(K);
    let residual = 0;
    let power = 0;
    for (let k = 0; k < K; k++) {
      const lo = Math.max(0, k - PILOT_WINDOW);
      const hi = Math.min(K - 1, k + PILOT_WINDOW);
      let sr = 0;
      let si = 0;
      for (let j = lo; j <= hi; j++) {
        sr += qr[j]!;
        si += qi[j]!;
      }
      const m = hi - lo + 1;
      this.gr[k] = sr / m;
      this.gi[k] = si / m;
      // q_k - mean has variance sigma^2 (1 - 1/m)
      if (m > 1) residual += (((qr[k]! - this.gr[k]!) ** 2 + (qi[k]! - this.gi[k]!) ** 2) * m) / (m - 1);
      power += this.gr[k]! ** 2 + this.gi[k]! ** 2;
    }
    this.residual = residual + pre.residual;
    this.dof = (K > 1 ? K : 0) + pre.dof;
    this.power = K > 0 ? power / K : pre.gainRe ** 2 + pre.gainIm ** 2;
  }

  /** Noise variance per complex sample and SNR in dB (gain power less the averaging's share of noise). */
  snr(): { noiseVar: number; snrDb: number } {
    const noiseVar = this.dof > 0 ? this.residual / this.dof : 0;
    const signal = Math.max(this.power - noiseVar / (2 * PILOT_WINDOW + 1), 1e-30);
    return { noiseVar, snrDb: 10 * Math.log10(signal / Math.max(noiseVar, 1e-30)) };
  }

  /** Body symbol i, derotated and divided by the gain interpolated between its pilots. */
  equalize(i: number): [number, number] {
    const n = bodyOffset(i);
    const [re, im] = this.derotated(n, this.omega);
    const [gr, gi] = this.gainAt(n);
    const g2 = gr * gr + gi * gi;
    if (g2 < 1e-30) return [0, 0];
    return [(re * gr + im * gi) / g2, (im * gr - re * gi) / g2];
  }

  /** Real part of body symbol i times the conjugate gain (a soft BPSK chip). */
  soft(i: number): number {
    const n = bodyOffset(i);
    const [re, im] = this.derotated(n, this.omega);
    const [gr, gi] = this.gainAt(n);
    return re * gr + im * gi;
  }

  private gainAt(n: number): [number, number] {
    const K = this.pos.length;
    if (K === 0) return [0, 0];
    // pilots are every PILOT_SPACING + 1 samples up to the last one
    let k = Math.min(K - 2, Math.max(0, Math.floor((n - PREAMBLE_LENGTH) / (PILOT_SPACING + 1))));
    if (K === 1 || k < 0) return [this.gr[0]!, this.gi[0]!];
    while (k + 1 < K - 1 && this.pos[k + 1]! < n) k++;
    const a = this.pos[k]!;
    const b = this.pos[k + 1]!;
    const t = Math.min(1, Math.max(0, (n - a) / (b - a)));
    return [this.gr[k]! + t * (this.gr[k + 1]! - this.gr[k]!), this.gi[k]! + t * (this.gi[k + 1]! - this.gi[k]!)];
  }

  private derotated(n: number, omega: number): [number, number] {
    const at = 2 * (this.d + n);
    const re = this.buf[at]!;
    const im = this.buf[at + 1]!;
    const c = Math.cos(-omega * n);
    const s = Math.sin(-omega * n);
    return [re * c - im * s, re * s + im * c];
  }
}
