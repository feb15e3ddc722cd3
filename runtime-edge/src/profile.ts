/**
 * What the device profile decides for the edge, and nothing else does: the inference backends the
 * registry tries, in the profile's order, and the default tiles per model run (from the profile's
 * memory; the schema has no batch field). `--max-batch` overrides the batch, `--backends` the order.
 *
 * Threads are not taken from the profile's `cpu.cores`: onnxruntime's intra-op threads spin between runs
 * and take the cores the main thread needs for decoding, framing and MQTT. On the 2-core test VM, two
 * threads (its cores) made akb-edge's busy time per Kodak image 1.7-2.6x longer than onnxruntime's own
 * choice (one thread there), and still 1.3x with spinning turned off; a board's onnxruntime picks its
 * physical cores, which is what the profile says anyway. `--threads` (or jscc's AKB_ORT_THREADS) sets them.
 */
import type { DeviceProfile } from '@akb/protocol';
import { BackendRegistry, type BackendName, ortNodeBackend, ortWebBackend } from '@akb/jscc';
import type { ProfileChoice } from '@akb/devices';

/**
 * Default tiles per model run by the profile's memory: the first row whose `belowMb` exceeds it.
 * bench/edge.ts: batch 32 against 16 at 32x32 was +13% (2026-11-25), +34% and -14% (two runs on
 * 2026-12-02), within the shared machine's noise; peak memory moved by at most 5 MiB either way (Kodak
 * 140.0 against 136.5 MiB, 1.5 Mpixel photographs 152.2 against 155.5). 32 (half the runs, each with
 * its fixed cost) where memory is plentiful; 16 below 2 GiB (the generic profiles, the Pi 3).
 */
export const BATCH_BY_MEMORY: readonly { belowMb: number; maxBatch: number }[] = [
  { belowMb: 2048, maxBatch: 16 },
  { belowMb: Number.POSITIVE_INFINITY, maxBatch: 32 },
];

export interface EdgeLimits {
  /** Inference backends, in the order the registry tries them. */
  readonly backends: readonly BackendName[];
  /** onnxruntime-node's intra-op threads; undefined: AKB_ORT_THREADS, else onnxruntime's choice (the WASM backend runs one). */
  readonly threads: number | undefined;
  /** Most tiles per model run. */
  readonly maxBatch: number;
}

export interface EdgeLimitOverrides {
  threads?: number;
  maxBatch?: number;
  /** Backends in the order to try, instead of the profile's (`--backends`, e.g. WASM only under qemu-user). */
  backends?: readonly BackendName[];
}

/** The profile's limits, with the user's overrides. */
export function edgeLimits(profile: DeviceProfile, overrides: EdgeLimitOverrides = {}): EdgeLimits {
  const byMemory = BATCH_BY_MEMORY.find((row) => profile.memoryMb < row.belowMb)!;
  return { backends: overrides.backends ?? profile.backends, threads: overrides.threads, maxBatch: overrides.maxBatch ?? byMemory.maxBatch };
}

/** A fresh registry of every backend akb ships; onnxruntime-node's with `threads` intra-op threads when given. */
export function edgeBackends(threads?: number): BackendRegistry {
  const registry = new BackendRegistry();
  for (const name of ['onnxruntime-node-cpu', 'onnxruntime-node-cuda', 'onnxruntime-node-tensorrt'] as const) {
    registry.register(ortNodeBackend(name, threads === undefined ? {} : { intraOpThreads: threads }));
  }
  return registry.register(ortWebBackend());
}

/** The profile as the edge reports it (status.get, logs). */
export interface EdgeProfileReport {
  id: string;
  choice: ProfileChoice;
  reason: string;
  limits: EdgeLimits;
}

/** One line for the log: which profile, how it was chosen, and what it set. */
export function describeProfile(p: EdgeProfileReport): string {
  const { backends, maxBatch, threads } = p.limits;
  const threadText = threads === undefined ? "onnxruntime's threads" : `${threads} thread${threads === 1 ? '' : 's'}`;
  return `profile ${p.reason}: backends ${backends.join(' > ')}; ${maxBatch} tiles per model run; ${threadText}`;
}
