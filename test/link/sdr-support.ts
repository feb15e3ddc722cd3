/**
 * Helpers of the sdr tests: frames of Gaussian symbols, a channel with AWGN, offset, phase, gain and timing,
 * multipath and its MMSE bound, and link/gnuradio/sdr_channel.py started and stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

/**
 * The best any per-symbol estimate of unit-power Gaussian symbols does through `taps` with complex noise of
 * variance `noiseVar`, dB: the unbiased SNR of the infinite linear MMSE equalizer,
 * 1 / mean_f(σ² / (|H(f)|² + σ²)) − 1 (for Gaussian symbols the conditional mean is linear, so no
 * nonlinear receiver does better). A flat channel gives |h|²/σ².
 */
export function mmseBoundDb(taps: readonly (readonly [number, number])[], noiseVar: number): number {
  const F = 4096;
  let mse = 0;
  for (let f = 0; f < F; f++) {
    let re = 0;
    let im = 0;
    taps.forEach(([hr, hi], k) => {
      const a = (-2 * Math.PI * f * k) / F;
      re += hr * Math.cos(a) - hi * Math.sin(a);
      im += hr * Math.sin(a) + hi * Math.cos(a);
    });
    mse += noiseVar / (re * re + im * im + noiseVar);
  }
  return 10 * Math.log10(F / mse - 1);
}

const FLOWGRAPH = fileURLToPath(new URL('../../link/gnuradio/sdr_channel.py', import.meta.url));
// Debian's GNU Radio Python modules are for the system interpreter, not a pyenv or venv one earlier on PATH.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket('udp4').bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Starts link/gnuradio/sdr_channel.py and resolves when it prints "ready"; rejects with its output if it exits first or takes over 20 s. */
export async function startFlowgraph(args: string[]): Promise<ChildProcess> {
  const child = spawn(PYTHON, [FLOWGRAPH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the flowgraph did not start in 20 s:\n${output}`));
    }, 20_000);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the flowgraph exited (${code}):\n${output}`));
    });
  });
  return child;
}

/** SIGTERM, and waits for the exit. */
export async function stopFlowgraph(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The parts one after another. */
export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
