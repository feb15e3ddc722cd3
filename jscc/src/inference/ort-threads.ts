/**
 * The thread knob shared by every onnxruntime-node session akb opens (the edge's and the cloud's through
 * `ortNodeBackend`, and the quantizer's: calibration, the report, the JSCC evaluation, the sensitivity
 * search, the inspector's probe): `AKB_ORT_THREADS=<n>` sets
 * `intraOpNumThreads` to n and `interOpNumThreads` to 1; unset (or empty), onnxruntime picks (one
 * thread per physical core).
 *
 * Why a knob: float results of onnxruntime's kernels depend on how a reduction is split between threads
 * and on the CPU's SIMD width, so calibrated ranges and SQNRs move by a few ULPs from one machine or
 * thread count to another (tests compare them with tolerances for that reason). One thread makes a run
 * comparable across machines with different core counts, and keeps a shared CI box quiet.
 */
import { AkbError } from '@akb/protocol';

/** Session options for the thread count: empty when AKB_ORT_THREADS is unset or empty. */
export interface OrtThreadOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
}

/**
 * The session options AKB_ORT_THREADS asks for. Throws a one-line AkbError (exit 1) when it is set to
 * anything but an integer of at least 1.
 */
export function ortThreadOptions(env: Record<string, string | undefined> = process.env): OrtThreadOptions {
  const raw = env.AKB_ORT_THREADS?.trim();
  if (raw === undefined || raw === '') return {};
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(Number.isSafeInteger(n) && n >= 1)) {
    throw new AkbError('BAD_ENVIRONMENT', `AKB_ORT_THREADS must be an integer of at least 1, got "${raw}"`, { hint: 'unset it to let onnxruntime choose' });
  }
  return { intraOpNumThreads: n, interOpNumThreads: 1 };
}
