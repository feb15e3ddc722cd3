/**
 * The edge options an installed bundle needs, read apart from main.ts's wiring:
 *
 * - `--profile` (env AKB_PROFILE) is a profile id of the catalogue, or a path to a profile JSON file (a
 *   bundle's slot carries its own `profile.json`, and a bundled daemon has no catalogue folder beside it).
 *   A value with a `/` or ending in `.json` is a path; the file is read up to MAX_PROFILE_BYTES and
 *   validated by the protocol's device-profile schema.
 * - `--backends` (env AKB_BACKENDS) is a comma-separated list of inference backends that replaces the
 *   profile's order. Under qemu-user, native onnxruntime-node crashes (SIGSEGV) on load: force
 *   onnxruntime-web-wasm there (`--backends onnxruntime-web-wasm`).
 *
 * Bad values are usage errors (exit 2) of one line.
 */
import { open } from 'node:fs/promises';
import { AkbError, INFERENCE_BACKENDS, decodeMessage, isAkbError, type DeviceProfile, type InferenceBackend } from '@akb/protocol';
import type { ResolvedProfile } from '@akb/devices';

/** The largest profile file read; the catalogue's are under 3 KiB. */
export const MAX_PROFILE_BYTES = 64 * 1024;

/** True when `value` names a file rather than a catalogue id (ids are `[a-z0-9-]`, never with `/` or `.json`). */
export function isProfilePath(value: string): boolean {
  return value.includes('/') || value.endsWith('.json');
}

function usage(code: string, message: string, hint: string, cause?: unknown): AkbError {
  return new AkbError(code, message, { hint, exitCode: 2, ...(cause === undefined ? {} : { cause }) });
}

/** Reads at most `max` bytes of `path`; a larger file is refused before its bytes are held. */
async function readBounded(path: string, max: number): Promise<Buffer> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw usage('PROFILE_MISSING', `cannot read the device profile ${path} (${why})`, 'pass a profile id (akb devices list) or the path of a *.profile.json file', cause);
  }
  try {
    const info = await file.stat();
    if (!info.isFile()) throw usage('PROFILE_INVALID', `device profile ${path} is not a file`, 'pass the path of a *.profile.json file');
    if (info.size > max) {
      throw usage('PROFILE_INVALID', `device profile ${path} is ${info.size} bytes, more than the ${max} a profile may have`, 'pass a device profile file');
    }
    const buffer = Buffer.alloc(max + 1);
    const { bytesRead } = await file.read(buffer, 0, max + 1, 0);
    if (bytesRead > max) throw usage('PROFILE_INVALID', `device profile ${path} grew past ${max} bytes while read`, 'pass a device profile file');
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** One profile file, validated; usage errors of one line for a missing, oversized or invalid file. */
export async function readProfileFile(path: string, max = MAX_PROFILE_BYTES): Promise<DeviceProfile> {
  const bytes = await readBounded(path, max);
  try {
    return decodeMessage('device-profile', bytes, { maxBytes: max });
  } catch (cause) {
    const why = isAkbError(cause) ? cause.message : String(cause);
    throw usage('PROFILE_INVALID', `device profile ${path} is invalid: ${why}`, 'protocol/schema/device-profile.schema.json describes every field', cause);
  }
}

/**
 * The profile the edge runs with: a file when `value` is a path, else the catalogue's id, else detection
 * (devices' resolveProfile). An unknown id is a usage error naming the known ones.
 */
export async function resolveEdgeProfile(value: string | undefined): Promise<ResolvedProfile> {
  if (value !== undefined && value !== '' && isProfilePath(value)) {
    const profile = await readProfileFile(value);
    return { profile, choice: 'given', reason: `${profile.id} (given: ${value})` };
  }
  const { resolveProfile } = await import('@akb/devices');
  try {
    return await resolveProfile(value ? { id: value } : {});
  } catch (e) {
    if (isAkbError(e) && e.code === 'UNKNOWN_PROFILE') throw usage(e.code, e.message, e.hint ?? 'akb devices list', e);
    throw e;
  }
}

/**
 * `--backends a,b`: backend names in the order to try, each one of INFERENCE_BACKENDS, none twice;
 * undefined or empty: the profile's order.
 */
export function parseBackends(value: string | undefined, flag = '--backends'): InferenceBackend[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const known: readonly string[] = INFERENCE_BACKENDS;
  const names = value.split(',').map((s) => s.trim());
  const hint = `pass ${flag} with a comma-separated list of: ${INFERENCE_BACKENDS.join(', ')}`;
  for (const name of names) {
    if (!known.includes(name)) throw usage('BAD_OPTION', `${flag}: unknown inference backend "${name.slice(0, 64)}"`, hint);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw usage('BAD_OPTION', `${flag}: ${name} is named twice`, hint);
    seen.add(name);
  }
  return names as InferenceBackend[];
}
