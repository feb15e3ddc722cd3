/** Helpers of the sdr tests: frames of Gaussian symbols and a channel with AWGN, offset, phase, gain and timing. */
import { encodeFrame, packSymbols } from '@akb/protocol';

export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** A float32 frame of `n` unit-power complex symbols. */
export function symbolFrame(n: number, frameId: number, rand: () => number): { frame: Uint8Array; values: Float32Array } {
  const g = gaussian(rand);
  const values = new Float32Array(2 * n);
  for (let i = 0; i < values.length; i++) values[i] = g() * Math.SQRT1_2;
  const frame = encodeFrame(
    { dtype: 'float32', hasKbEntry: false, endOfSession: false, actionId: 3, deviceId: 7, sessionId: 1, frameId, fragmentIndex: 0, fragmentCount: 1, kbVersion: 0, kbEntry: 0, totalSymbols: n, symbolOffset: 0, scale: 1, timestampUs: 1000 + frameId },
    packSymbols(values, 'float32').payload,
  );
  return { frame, values };
}

export interface Impairments {
  snrDb: number;
  /** cycles per sample */
  cfo?: number;
  phase?: number;
  gain?: number;
  /** noise samples before the burst */
  lead?: number;
  tail?: number;
}

/** The burst through the impairments: gain·e^{j(phase + 2π cfo n)}·x + noise of variance gain²·10^(−snr/10). */
export function impair(iq: Float32Array, imp: Impairments, rand: () => number): Float32Array {
  const g = gaussian(rand);
  const lead = imp.lead ?? 0;
  const n = iq.length / 2 + lead + (imp.tail ?? 64);
  const out = new Float32Array(2 * n);
  const gain = imp.gain ?? 1;
  const sigma = gain * Math.sqrt(10 ** (-imp.snrDb / 10) / 2);
  for (let k = 0; k < n; k++) {
    const j = k - lead;
    let re = 0;
    let im = 0;
    if (j >= 0 && j < iq.length / 2) {
      const a = (imp.phase ?? 0) + 2 * Math.PI * (imp.cfo ?? 0) * k;
      const c = gain * Math.cos(a);
      const s = gain * Math.sin(a);
      re = iq[2 * j]! * c - iq[2 * j + 1]! * s;
      im = iq[2 * j]! * s + iq[2 * j + 1]! * c;
    }
    out[2 * k] = re + sigma * g();
    out[2 * k + 1] = im + sigma * g();
  }
  return out;
}

/** Complex taps [re, im], normalized to unit total power. */
export function normalizedTaps(taps: readonly (readonly [number, number])[]): [number, number][] {
  const power = taps.reduce((s, [re, im]) => s + re * re + im * im, 0);
  return taps.map(([re, im]) => [re / Math.sqrt(power), im / Math.sqrt(power)]);
}

/** The burst through a multipath channel (tap k delays by k samples; the output is taps − 1 samples longer), as GNU Radio's channel_model applies it before its offset and noise. */
export function multipath(iq: Float32Array, taps: readonly (readonly [number, number])[]): Float32Array {
  const n = iq.length / 2;
  const out = new Float32Array(2 * (n + taps.length - 1));
  for (let k = 0; k < taps.length; k++) {
    const [hr, hi] = taps[k]!;
    for (let j = 0; j < n; j++) {
      const xr = iq[2 * j]!;
      const xi = iq[2 * j + 1]!;
      out[2 * (j + k)] = out[2 * (j + k)]! + hr * xr - hi * xi;
      out[2 * (j + k) + 1] = out[2 * (j + k) + 1]! + hr * xi + hi * xr;
    }
  }
  return out;
}
