/**
 * Reads a bundle as hostile input, streaming: the format version, the manifest and its signature first
 * (checked against the trusted keys before anything in the manifest is believed), then each payload
 * member in the manifest's order, its size checked from the tar header and its SHA-256 computed as it
 * flows into the caller's sink. Without a sink every member is still read and hashed, and nothing is
 * written. Every refusal is a one-line AkbError; nothing but the sink ever writes.
 */
import { createHash, type Hash } from 'node:crypto';
import type { BundleFile, BundleManifest } from '@akb/protocol';
import { BUNDLE_VERSION_TEXT } from '@akb/protocol';
import type { TrustedKey } from '../keys.js';
import { bundleError, quote } from './errors.js';
import { inflate } from './inflate.js';
import { FORMAT_LIMITS, resolveLimits, type BundleLimits } from './limits.js';
import { parseManifest, payloadMember } from './manifest.js';
import { checkSignature, parseSignature, type SignatureStatus } from './signature.js';
import { TarReader } from './tar-reader.js';

export { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from './limits.js';
export type { TrustedKey } from '../keys.js';

export interface BundleHeader {
  manifest: BundleManifest;
  manifestBytes: Buffer;
  /** The key id `manifest.sig` names. */
  keyId: string;
  /** The trusted key that verified the signature; undefined only when `verify: false`. */
  signer: TrustedKey | undefined;
  /** What the reader concluded about the signature (always `verified` when `verify` is on). */
  signature: SignatureStatus;
  /** `manifest.sig` exactly as stored (the install agent keeps it beside the manifest to re-verify a slot). */
  signatureBytes: Buffer;
}

/** Receives each payload file; must consume `content`, which throws after its last chunk when size or hash differ. */
export interface BundleSink {
  file(entry: BundleFile, content: AsyncIterable<Uint8Array>): Promise<void>;
}

export interface ReadBundleOptions {
  trustedKeys: readonly TrustedKey[];
  /** Default true. false (for inspect only): an untrusted key or a bad signature is reported in the header, not thrown. */
  verify?: boolean;
  limits?: Partial<BundleLimits>;
  /** Called after the signature checks, before any payload; may throw to stop (e.g. a downgrade). */
  onHeader?: (h: BundleHeader) => void | Promise<void>;
  sink?: BundleSink;
  /** Stop after the header: no payload is read (for inspect). */
  headerOnly?: boolean;
}

/** The content of one payload member, hashed as it flows; `finish` drains what the sink left and checks. */
class MemberFlow implements AsyncIterable<Uint8Array> {
  private readonly hash: Hash = createHash('sha256');
  private seen = 0;
  private done = false;
  failure: Error | undefined;

  constructor(
    private readonly chunks: AsyncGenerator<Buffer, void, undefined>,
    private readonly entry: BundleFile,
  ) {}

  private async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (this.done) return { done: true, value: undefined };
    const r = await this.chunks.next();
    if (r.done !== true) {
      this.hash.update(r.value);
      this.seen += r.value.length;
      return { done: false, value: r.value };
    }
    this.done = true;
    const digest = this.hash.digest('hex');
    if (digest !== this.entry.sha256) {
      this.failure = bundleError('BUNDLE_HASH_MISMATCH', `${quote(this.entry.path)} does not match its SHA-256 in the signed manifest`);
      throw this.failure;
    }
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array, undefined> {
    return { next: () => this.next(), return: () => Promise.resolve({ done: true, value: undefined }) };
  }

  async finish(): Promise<void> {
    while (!(await this.next()).done);
  }
}

async function smallMember(tar: TarReader, name: string, max: number, after: string): Promise<Buffer> {
  const h = await tar.next(after);
  if (h === undefined) throw bundleError('BUNDLE_CORRUPT', `bundle is corrupt: the archive ends before ${name}`);
  if (h.path !== name) throw bundleError('BUNDLE_UNEXPECTED_MEMBER', `expected ${name}, found ${quote(h.path)}`);
  if (h.size > max) throw bundleError('BUNDLE_TOO_LARGE', `${name} says it is ${h.size} bytes; at most ${max} are read`);
  return tar.whole(h.size, name);
}

function checkVersion(bytes: Buffer): void {
  const text = bytes.toString('latin1');
  if (text === BUNDLE_VERSION_TEXT) return;
  const m = /^akb-bundle (\d{1,6})\n$/.exec(text);
  if (m) throw bundleError('BUNDLE_UNSUPPORTED_VERSION', `bundle format ${m[1]}; this reader knows 1`);
  throw bundleError('BUNDLE_CORRUPT', 'bundle is corrupt: akb-bundle does not hold "akb-bundle 1"');
}

/** Explains a payload member that is not the next file the manifest lists. */
function unexpected(found: string, expected: BundleFile | undefined, index: Map<string, number>, at: number): Error {
  const path = found.startsWith('payload/') ? found.slice('payload/'.length) : undefined;
  const listed = path === undefined ? undefined : index.get(path);
  if (listed === undefined) return bundleError('BUNDLE_UNEXPECTED_MEMBER', `member ${quote(found)} is not in the manifest`);
  if (listed < at) return bundleError('BUNDLE_UNEXPECTED_MEMBER', `member ${quote(found)} appears twice`);
  return bundleError('BUNDLE_UNEXPECTED_MEMBER', `member ${quote(found)} is out of order: ${quote(payloadMember(expected?.path ?? ''))} comes first`);
}

export async function readBundle(source: string | NodeJS.ReadableStream, opts: ReadBundleOptions): Promise<BundleHeader> {
  const limits = resolveLimits(opts.limits);
  const verify = opts.verify ?? true;
  const tar = new TarReader(inflate(source, limits), limits.maxMemberBytes);
  try {
    checkVersion(await smallMember(tar, 'akb-bundle', FORMAT_LIMITS.maxVersionBytes, 'the start'));
    const manifestBytes = await smallMember(tar, 'manifest.json', limits.maxManifestBytes, 'akb-bundle');
    const signatureBytes = await smallMember(tar, 'manifest.sig', FORMAT_LIMITS.maxSignatureBytes, 'manifest.json');
    const sig = parseSignature(signatureBytes);
    const checked = checkSignature(manifestBytes, sig, opts.trustedKeys);
    if (verify && checked.error !== undefined) throw checked.error;
    const manifest = parseManifest(manifestBytes, limits);
    const header: BundleHeader = { manifest, manifestBytes, keyId: sig.keyId, signer: checked.signer, signature: checked.status, signatureBytes };
    await opts.onHeader?.(header);
    if (opts.headerOnly === true) return header;
    await readPayload(tar, manifest, opts.sink);
    return header;
  } finally {
    await tar.close();
  }
}

async function readPayload(tar: TarReader, manifest: BundleManifest, sink: BundleSink | undefined): Promise<void> {
  const index = new Map(manifest.files.map((f, i) => [f.path, i]));
  let after = 'manifest.sig';
  for (let i = 0; i < manifest.files.length; i++) {
    const entry = manifest.files[i] as BundleFile;
    const name = payloadMember(entry.path);
    const h = await tar.next(after);
    if (h === undefined) throw bundleError('BUNDLE_MISSING_MEMBER', `the bundle ends without ${quote(name)} (${manifest.files.length - i} listed file(s) missing)`);
    if (h.path !== name) throw unexpected(h.path, entry, index, i);
    if (h.size !== entry.size) throw bundleError('BUNDLE_SIZE_MISMATCH', `${quote(name)} is ${h.size} bytes; the signed manifest says ${entry.size}`);
    const flow = new MemberFlow(tar.content(h.size, name), entry);
    if (sink !== undefined) {
      try {
        await sink.file(entry, flow);
      } catch (e) {
        throw flow.failure ?? e;
      }
    }
    await flow.finish();
    after = name;
  }
  const extra = await tar.next(after);
  if (extra !== undefined) throw unexpected(extra.path, undefined, index, manifest.files.length);
  await tar.finish();
}
