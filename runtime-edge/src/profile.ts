/**
 * What the device profile decides for the edge, and nothing else does: the inference backends the
 * registry tries, in the profile's order; onnxruntime's intra-op threads (the profile's cores, at most
 * the cores this machine has); and the default tiles per model run (from the profile's memory). Flags
 * override each. The profile schema has no field for threads or batch, so both are derived here from
 * `cpu.cores` and `memoryMb`, by the rules below and in README.md.
 */
import { availableParallelism } from 'node:os';
import type { DeviceProfile } from '@akb/protocol';
import { BackendRegistry, type BackendName, ortNodeBackend, ortWebBackend } from '@akb/jscc';
import type { ProfileChoice } from '@akb/devices';

/**
 * Default tiles per model run by the profile's memory: the first row whose `belowMb` exceeds it.
 * Batch 16 against 32 at 32x32: ~13% fewer images/s, and the same peak memory within 2 MB at 768x512
 * (bench/edge.ts); the smaller batch is kept where memory is scarcest, where a slower board also has
 * the least to gain from a larger batch.
 */
export const BATCH_BY_MEMORY: readonly { belowMb: number; maxBatch: number }[] = [
  { belowMb: 2048, maxBatch: 16 },
  { belowMb: Number.POSITIVE_INFINITY, maxBatch: 32 },
];

export interface EdgeLimits {
  /** Inference backends, in the order the registry tries them. */
  readonly backends: readonly BackendName[];
  /** onnxruntime-node's intra-op threads (the WASM backend runs one). */
  readonly threads: number;
  /** Most tiles per model run. */
  readonly maxBatch: number;
}

export interface EdgeLimitOverrides {
  threads?: number;
  maxBatch?: number;
}

/** The profile's limits, with the user's overrides; `cores` is what this machine has (default: availableParallelism()). */
export function edgeLimits(profile: DeviceProfile, overrides: EdgeLimitOverrides = {}, cores: number = availableParallelism()): EdgeLimits {
  const byMemory = BATCH_BY_MEMORY.find((row) => profile.memoryMb < row.belowMb)!;
  return {
    backends: profile.backends,
    threads: overrides.threads ?? Math.max(1, Math.min(profile.cpu.cores, cores)),
    maxBatch: overrides.maxBatch ?? byMemory.maxBatch,
  };
}

/** A fresh registry of every backend akb ships, onnxruntime-node's with `threads` intra-op threads. */
export function edgeBackends(threads: number): BackendRegistry {
  const registry = new BackendRegistry();
  for (const name of ['onnxruntime-node-cpu', 'onnxruntime-node-cuda', 'onnxruntime-node-tensorrt'] as const) {
    registry.register(ortNodeBackend(name, { intraOpThreads: threads }));
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
  return `profile ${p.reason}: backends ${backends.join(' > ')}; ${maxBatch} tiles per model run; ${threads} thread${threads === 1 ? '' : 's'}`;
}
