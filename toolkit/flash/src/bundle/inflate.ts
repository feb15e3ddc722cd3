/**
 * The decompressed bytes of a bundle, as an async generator of chunks: the file (or stream) is counted
 * against `maxBundleBytes` and must start with the gzip magic; what gunzip makes is counted against
 * `maxTotalBytes`, so a gzip bomb stops there. zlib and file errors become one-line AkbErrors
 * (an early end of the gzip stream is BUNDLE_TRUNCATED). Returning from the generator destroys the streams.
 */
import { open, stat } from 'node:fs/promises';
import { pipeline, Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { isAkbError } from '@akb/protocol';
import { bundleError } from './errors.js';
import type { BundleLimits } from './limits.js';

async function openBundleFile(path: string, limits: BundleLimits): Promise<Readable> {
  const info = await stat(path).catch((e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? bundleError('BUNDLE_NOT_FOUND', `no bundle at ${path}`) : bundleError('BUNDLE_UNREADABLE', `cannot read ${path}: ${code ?? String(e)}`);
  });
  if (!info.isFile()) throw bundleError('BUNDLE_UNREADABLE', `${path} is not a regular file`);
  if (info.size > limits.maxBundleBytes) {
    throw bundleError('BUNDLE_TOO_LARGE', `${path} is ${info.size} bytes; a bundle is at most ${limits.maxBundleBytes}`);
  }
  const handle = await open(path, 'r').catch((e: unknown) => {
    throw bundleError('BUNDLE_UNREADABLE', `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  });
  return handle.createReadStream();
}

/** Counts compressed bytes and checks the gzip magic (0x1f 0x8b) on the first two. */
function compressedGuard(limits: BundleLimits): Transform {
  let seen = 0;
  const magic: number[] = [];
  return new Transform({
    transform(chunk: Buffer | string, _encoding, done) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let i = 0; magic.length < 2 && i < buf.length; i++) magic.push(buf[i] as number);
      if (magic.length >= 1 && (magic[0] !== 0x1f || (magic.length === 2 && magic[1] !== 0x8b))) {
        done(bundleError('BUNDLE_NOT_GZIP', 'not a bundle: the file is not gzip-compressed'));
        return;
      }
      seen += buf.length;
      if (seen > limits.maxBundleBytes) {
        done(bundleError('BUNDLE_TOO_LARGE', `the bundle is over ${limits.maxBundleBytes} bytes (the limit)`));
        return;
      }
      done(null, buf);
    },
  });
}

/** Maps a zlib, file or stream error to a one-line AkbError. */
function inflateError(e: unknown): Error {
  if (isAkbError(e)) return e;
  if (!(e instanceof Error)) return bundleError('BUNDLE_UNREADABLE', `cannot read the bundle: ${String(e)}`);
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'Z_BUF_ERROR' || err.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return bundleError('BUNDLE_TRUNCATED', 'the bundle ends early (the gzip stream is incomplete)', e);
  }
  if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
    return bundleError('BUNDLE_CORRUPT', `bundle is corrupt: gzip data is damaged (${err.message})`, e);
  }
  return bundleError('BUNDLE_UNREADABLE', `cannot read the bundle: ${err.code ?? err.message}`, e);
}

export async function* inflate(source: string | NodeJS.ReadableStream, limits: BundleLimits): AsyncGenerator<Buffer, void, undefined> {
  const input = typeof source === 'string' ? await openBundleFile(source, limits) : (source as Readable);
  const guard = compressedGuard(limits);
  const gunzip = createGunzip();
  let failure: unknown;
  pipeline(input, guard, gunzip, (err) => {
    if (err) failure ??= err;
  });
  let total = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limits.maxTotalBytes) {
        throw bundleError('BUNDLE_TOO_LARGE', `the bundle unpacks to over ${limits.maxTotalBytes} bytes (the limit; a gzip bomb?)`);
      }
      yield chunk;
    }
    if (failure !== undefined) throw inflateError(failure);
  } catch (e) {
    throw inflateError(isAkbError(e) ? e : (failure ?? e));
  } finally {
    gunzip.destroy();
    guard.destroy();
    input.destroy();
  }
}
