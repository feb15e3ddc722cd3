/**
 * Writes a bundle: a reproducible, signed, gzip-compressed ustar archive (toolkit/flash/README.md, "Bundle
 * format"). Two passes over the inputs: the first hashes every file for the manifest, which must come
 * first in the archive; the second streams them into the tar, re-hashing to catch a file that changed in
 * between. Members are sorted by path (byte order), owners 0, mtime = `created`, gzip level 6 with
 * zlib's fixed header (mtime 0): the same inputs, `created` and Node.js give identical bytes. The output is
 * written to a temporary file beside `out`, fsynced, and renamed over it.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { BUNDLE_FORMAT_VERSION, BUNDLE_VERSION_TEXT, BundleManifest, describeIssues, isAkbError } from '@akb/protocol';
import type { BundleFileRole, CpuArch } from '@akb/protocol';
import { AkbError } from '@akb/protocol';
import { bundleError, quote } from './errors.js';
import { DEFAULT_BUNDLE_LIMITS } from './limits.js';
import { comparePaths, fileListProblem, payloadMember } from './manifest.js';
import { signatureBytes } from './signature.js';
import { BLOCK, encodeFileHeader, MAX_USTAR_SIZE, paddingOf } from './tar.js';

export interface BundleInput {
  /** Path inside the payload, relative, "/"-separated. */
  path: string;
  role: BundleFileRole;
  /** POSIX permission bits; default 0644 (0755 for programs). */
  mode?: number;
  source: { bytes: Uint8Array } | { file: string };
}

export interface WriteBundleOptions {
  name: string;
  version: string;
  targetProfiles: string[];
  created: Date;
  description?: string;
  runtime: { arch: CpuArch; node?: string };
  files: BundleInput[];
  /** Ed25519 private key. */
  key: KeyObject;
}

export interface WrittenBundle {
  manifest: BundleManifest;
  /** Size of the .akb file, bytes. */
  size: number;
  /** SHA-256 hex of the .akb file. */
  sha256: string;
}

const GZIP_LEVEL = 6;
const DEFAULT_MODE = 0o644;

interface Hashed {
  input: BundleInput;
  size: number;
  sha256: string;
}

function requireSigningKey(key: KeyObject): void {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new AkbError('KEY_NOT_ED25519', `the signing key is a ${key.asymmetricKeyType ?? 'symmetric'} ${key.type} key, not an Ed25519 private key`, {
      hint: 'sign with the .key file that `akb keys generate` wrote',
    });
  }
}

/** `created` to whole seconds, as the ISO string the manifest holds and the tar mtime. */
function createdTime(created: Date): { iso: string; seconds: number } {
  const ms = created.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw bundleError('BUNDLE_BAD_INPUT', `created is not a date after 1970: ${String(created)}`);
  const seconds = Math.floor(ms / 1000);
  return { iso: new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'), seconds };
}

async function* chunksOf(input: BundleInput): AsyncGenerator<Uint8Array> {
  if ('bytes' in input.source) {
    yield input.source.bytes;
    return;
  }
  for await (const chunk of createReadStream(input.source.file)) yield chunk as Buffer;
}

async function hashInput(input: BundleInput): Promise<Hashed> {
  if ('file' in input.source) {
    const file = input.source.file;
    const info = await stat(file).catch((e: unknown) => {
      throw bundleError('BUNDLE_BAD_INPUT', `cannot read ${file} (for ${quote(input.path)}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    });
    if (!info.isFile()) throw bundleError('BUNDLE_BAD_INPUT', `${file} (for ${quote(input.path)}) is not a regular file`);
    if (info.size > MAX_USTAR_SIZE) throw bundleError('BUNDLE_BAD_INPUT', `${file} is over 8 GiB, more than a ustar member holds`);
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunksOf(input)) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { input, size, sha256: hash.digest('hex') };
}

/** The manifest for the hashed, sorted files; validated by the schema and the reader's own checks. */
function buildManifest(opts: WriteBundleOptions, created: string, files: Hashed[]): BundleManifest {
  const value = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    name: opts.name,
    version: opts.version,
    targetProfiles: opts.targetProfiles,
    created,
    ...(opts.description === undefined ? {} : { description: opts.description }),
    runtime: { arch: opts.runtime.arch, ...(opts.runtime.node === undefined ? {} : { node: opts.runtime.node }) },
    files: files.map(({ input, size, sha256 }) => ({
      path: input.path,
      sha256,
      size,
      role: input.role,
      ...(input.mode === undefined ? {} : { mode: input.mode }),
    })),
  };
  const parsed = BundleManifest.safeParse(value);
  if (!parsed.success) throw bundleError('BUNDLE_BAD_INPUT', `the manifest would be invalid: ${describeIssues(parsed.error.issues)}`);
  const problem = fileListProblem(parsed.data.files, DEFAULT_BUNDLE_LIMITS);
  if (problem !== undefined) throw bundleError('BUNDLE_BAD_INPUT', `cannot bundle these files: ${problem.message}`);
  return parsed.data;
}

async function* tarStream(manifestBytes: Buffer, sig: Buffer, files: Hashed[], mtime: number): AsyncGenerator<Uint8Array> {
  const small = function* (name: string, bytes: Buffer): Generator<Uint8Array> {
    yield encodeFileHeader(name, bytes.length, DEFAULT_MODE, mtime);
    yield bytes;
    yield Buffer.alloc(paddingOf(bytes.length));
  };
  yield* small('akb-bundle', Buffer.from(BUNDLE_VERSION_TEXT));
  yield* small('manifest.json', manifestBytes);
  yield* small('manifest.sig', sig);
  for (const { input, size, sha256 } of files) {
    yield encodeFileHeader(payloadMember(input.path), size, input.mode ?? DEFAULT_MODE, mtime);
    const hash = createHash('sha256');
    let seen = 0;
    for await (const chunk of chunksOf(input)) {
      seen += chunk.length;
      if (seen > size) break;
      hash.update(chunk);
      yield chunk;
    }
    if (seen !== size || hash.digest('hex') !== sha256) {
      throw bundleError('BUNDLE_BAD_INPUT', `${quote(input.path)} changed while it was being packaged; package again`);
    }
    yield Buffer.alloc(paddingOf(size));
  }
  yield Buffer.alloc(2 * BLOCK);
}

function writeError(out: string, e: unknown): unknown {
  if (isAkbError(e)) return e;
  const code = (e as NodeJS.ErrnoException).code ?? String(e);
  return bundleError('BUNDLE_WRITE_FAILED', `cannot write ${out}: ${code}`, e);
}

export async function writeBundle(out: string, opts: WriteBundleOptions): Promise<WrittenBundle> {
  requireSigningKey(opts.key);
  const { iso, seconds } = createdTime(opts.created);
  const hashed: Hashed[] = [];
  for (const input of opts.files) hashed.push(await hashInput(input));
  hashed.sort((a, b) => comparePaths(a.input.path, b.input.path));
  const manifest = buildManifest(opts, iso, hashed);
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  if (manifestBytes.length > DEFAULT_BUNDLE_LIMITS.maxManifestBytes) {
    throw bundleError('BUNDLE_BAD_INPUT', `the manifest is ${manifestBytes.length} bytes; a reader takes at most ${DEFAULT_BUNDLE_LIMITS.maxManifestBytes}`);
  }
  const sig = signatureBytes(manifestBytes, opts.key);

  const target = resolve(out);
  const tmp = `${target}.${process.pid}.tmp`;
  const handle = await open(tmp, 'wx', 0o644).catch((e: unknown) => {
    throw writeError(target, e);
  });
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(tarStream(manifestBytes, sig, hashed, seconds), createGzip({ level: GZIP_LEVEL }), async (gz: AsyncIterable<Buffer>) => {
      for await (const chunk of gz) {
        hash.update(chunk);
        size += chunk.length;
        await handle.write(chunk);
      }
    });
    if (size > DEFAULT_BUNDLE_LIMITS.maxBundleBytes) {
      throw bundleError('BUNDLE_BAD_INPUT', `the bundle is ${size} bytes; a reader takes at most ${DEFAULT_BUNDLE_LIMITS.maxBundleBytes}`);
    }
    await handle.sync();
    await handle.close();
    await rename(tmp, target);
    await syncFolder(dirname(target));
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw writeError(target, e);
  }
  return { manifest, size, sha256: hash.digest('hex') };
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
