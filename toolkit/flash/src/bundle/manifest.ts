/**
 * The manifest as a reader sees it: parsed only after its signature was checked, validated by the
 * schema, then checked for what the schema cannot say: files sorted by path in byte order, no path that
 * is also another's folder, none under `.akb/` (a slot's own metadata), every path storable in a ustar
 * header, and sizes within the reader's limits, so a payload never needs a byte more than announced.
 */
import { BundleManifest, describeIssues } from '@akb/protocol';
import { bundleError, quote } from './errors.js';
import type { BundleLimits } from './limits.js';
import { splitUstarPath } from './tar.js';

/** Tar member name of a payload file. */
export function payloadMember(path: string): string {
  return `payload/${path}`;
}

/** Byte-order comparison of UTF-8 paths (the order of `manifest.files` and of the payload members). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Why a manifest's file list cannot be stored or installed, or undefined when it can. */
export function fileListProblem(files: readonly { path: string; size: number }[], limits?: BundleLimits): { tooLarge: boolean; message: string } | undefined {
  const bad = (message: string) => ({ tooLarge: false, message });
  const big = (message: string) => ({ tooLarge: true, message });
  const paths = new Set(files.map((f) => f.path));
  let total = 0;
  for (let i = 0; i < files.length; i++) {
    const { path, size } = files[i] as { path: string; size: number };
    if (i > 0 && comparePaths((files[i - 1] as { path: string }).path, path) >= 0) return bad(`files are not sorted by path (byte order) at ${quote(path)}`);
    if (path === '.akb' || path.startsWith('.akb/')) return bad(`${quote(path)} is under .akb/, which a slot keeps for itself`);
    if (splitUstarPath(payloadMember(path)) === undefined) return bad(`${quote(path)} is too long for a ustar header (at most 100 bytes after the last "/" and 155 before it)`);
    const segments = path.split('/');
    for (let j = 1; j < segments.length; j++) {
      const folder = segments.slice(0, j).join('/');
      if (paths.has(folder)) return bad(`${quote(folder)} is a file and also the folder of ${quote(path)}`);
    }
    total += size;
    if (limits !== undefined && size > limits.maxMemberBytes) return big(`${quote(path)} is ${size} bytes; a member is at most ${limits.maxMemberBytes}`);
  }
  if (limits !== undefined && total > limits.maxTotalBytes) return big(`the files add up to ${total} bytes; a bundle unpacks to at most ${limits.maxTotalBytes}`);
  return undefined;
}

export function parseManifest(bytes: Buffer, limits: BundleLimits): BundleManifest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw bundleError('BUNDLE_BAD_MANIFEST', 'manifest.json is not JSON');
  }
  const version = (value as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== undefined && version !== 1) {
    throw bundleError('BUNDLE_UNSUPPORTED_VERSION', `manifest.json says format version ${quote(JSON.stringify(version) ?? 'undefined')}; this reader knows 1`);
  }
  const parsed = BundleManifest.safeParse(value);
  if (!parsed.success) throw bundleError('BUNDLE_BAD_MANIFEST', `manifest.json is invalid: ${describeIssues(parsed.error.issues)}`);
  const problem = fileListProblem(parsed.data.files, limits);
  if (problem !== undefined) {
    throw bundleError(problem.tooLarge ? 'BUNDLE_TOO_LARGE' : 'BUNDLE_BAD_MANIFEST', `manifest.json: ${problem.message}`);
  }
  return parsed.data;
}
