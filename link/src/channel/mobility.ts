/**
 * Mobility profiles: an SNR trace made by moving a terminal to and from a base station.
 *
 * Model (units: m, m/s, dB):
 * - Trajectory: from `startM` the terminal moves away at `speedMps` to `maxM`, back to `minM`, and so on
 *   (a ping-pong walk or drive along a line). Distance at time t follows from the distance travelled, v·t.
 * - Mean SNR by log-distance path loss: SNR(d) = snrAtRefDb − 10 n log10(d / refM), exponent n.
 * - Shadowing: log-normal, a Gaussian X in dB of standard deviation `shadowingDb` that decorrelates with
 *   the distance travelled as exp(−Δs / decorrelationM) (Gudmundson's model), drawn as a first-order
 *   autoregression every metre (or decorrelationM / 10, when shorter) and interpolated between.
 * - SNR(t) = SNR(d(t)) + X(v t), clamped to [−50, 100] dB. Fast fading is the channel's fading model's
 *   job, not this one's; `dopplerHz` gives its Doppler for the profile's speed at a carrier frequency.
 *
 * The shadowing samples come from the injected random source, lazily and in order of distance, so the
 * trace is a pure function of time for a given seed, whatever order it is queried in.
 */
import { AkbError } from '@akb/protocol';
import { gaussian, type RandomSource } from '@akb/protocol';
import { SNR_DB_RANGE, type SnrTrace } from './snr-trace.js';

export interface MobilityProfile {
  /** What it stands for, for people. */
  description: string;
  speedMps: number;
  minM: number;
  maxM: number;
  startM: number;
  /** SNR at the reference distance, dB. */
  snrAtRefDb: number;
  refM: number;
  pathLossExponent: number;
  shadowingDb: number;
  decorrelationM: number;
}

/** The built-in profiles (numbers in the range of 3GPP TR 38.901's UMi and UMa scenarios). */
export const MOBILITY_PROFILES = {
  walk: {
    description: 'pedestrian at 1.4 m/s, 10-200 m from the base station, urban micro-cell (n = 3, 6 dB shadowing over 10 m)',
    speedMps: 1.4, minM: 10, maxM: 200, startM: 10,
    snrAtRefDb: 30, refM: 10, pathLossExponent: 3, shadowingDb: 6, decorrelationM: 10,
  },
  drive: {
    description: 'car at 14 m/s (50 km/h), 20-1000 m from the base station, urban macro-cell (n = 2.8, 8 dB shadowing over 50 m)',
    speedMps: 14, minM: 20, maxM: 1000, startM: 20,
    snrAtRefDb: 35, refM: 20, pathLossExponent: 2.8, shadowingDb: 8, decorrelationM: 50,
  },
  static: {
    description: 'a terminal standing still 50 m from the base station, no shadowing change',
    speedMps: 0, minM: 50, maxM: 50, startM: 50,
    snrAtRefDb: 20, refM: 50, pathLossExponent: 3, shadowingDb: 0, decorrelationM: 10,
  },
} as const satisfies Record<string, MobilityProfile>;

export type MobilityProfileName = keyof typeof MOBILITY_PROFILES;

export function mobilityProfile(name: string): MobilityProfile {
  if (!Object.hasOwn(MOBILITY_PROFILES, name)) {
    throw new AkbError('UNKNOWN_MOBILITY_PROFILE', `no mobility profile "${name.slice(0, 40)}"`, {
      hint: `known: ${Object.keys(MOBILITY_PROFILES).join(', ')}`,
    });
  }
  return MOBILITY_PROFILES[name as MobilityProfileName];
}

/** Maximum Doppler frequency, Hz: fD = v f_c / c. */
export function dopplerHz(speedMps: number, carrierHz: number): number {
  return (speedMps * carrierHz) / 299_792_458;
}

export class MobilityTrace implements SnrTrace {
  readonly description: string;
  private readonly stepM: number;
  private readonly a: number;
  /** Shadowing in dB at travelled distance k · stepM. */
  private readonly shadow: number[] = [];

  constructor(readonly profile: MobilityProfile, private readonly random: RandomSource, name = 'custom') {
    const p = profile;
    const ok = p.speedMps >= 0 && p.minM > 0 && p.maxM >= p.minM && p.startM >= p.minM && p.startM <= p.maxM &&
      p.refM > 0 && p.pathLossExponent >= 0 && p.shadowingDb >= 0 && p.decorrelationM > 0 && Number.isFinite(p.snrAtRefDb);
    if (!ok) throw new AkbError('INVALID_MOBILITY_PROFILE', `mobility profile ${name} has inconsistent numbers`);
    this.description = `mobility ${name}: ${p.description}`;
    this.stepM = Math.min(1, p.decorrelationM / 10);
    this.a = Math.exp(-this.stepM / p.decorrelationM);
  }

  /** Distance from the base station at `timeMs`, m. */
  distanceAt(timeMs: number): number {
    const { minM, maxM, startM, speedMps } = this.profile;
    const span = maxM - minM;
    if (span === 0) return minM;
    const u = (startM - minM + speedMps * Math.max(0, timeMs) / 1000) % (2 * span);
    return minM + (u <= span ? u : 2 * span - u);
  }

  /** Mean SNR at distance `d` m by log-distance path loss, dB. */
  meanSnrDb(d: number): number {
    const p = this.profile;
    return p.snrAtRefDb - 10 * p.pathLossExponent * Math.log10(d / p.refM);
  }

  /** Shadowing at travelled distance `s` m, dB. */
  shadowingDb(s: number): number {
    if (this.profile.shadowingDb === 0) return 0;
    const x = s / this.stepM;
    const k = Math.floor(x);
    const x0 = this.sample(k);
    return x0 + (this.sample(k + 1) - x0) * (x - k);
  }

  snrDbAt(timeMs: number): number {
    const t = Math.max(0, timeMs);
    const snr = this.meanSnrDb(this.distanceAt(t)) + this.shadowingDb((this.profile.speedMps * t) / 1000);
    return Math.min(SNR_DB_RANGE[1], Math.max(SNR_DB_RANGE[0], snr));
  }

  private sample(k: number): number {
    const sigma = this.profile.shadowingDb;
    const noise = Math.sqrt(1 - this.a * this.a) * sigma;
    while (this.shadow.length <= k) {
      const prev = this.shadow[this.shadow.length - 1];
      this.shadow.push(prev === undefined ? sigma * gaussian(this.random) : this.a * prev + noise * gaussian(this.random));
    }
    return this.shadow[k]!;
  }
}

/** A trace for a named built-in profile. */
export function mobilityTrace(name: string, random: RandomSource): MobilityTrace {
  return new MobilityTrace(mobilityProfile(name), random, name);
}
