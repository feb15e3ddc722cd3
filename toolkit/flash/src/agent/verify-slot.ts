/**
 * Whether an installed slot is bootable: its `.akb/manifest.json` and `.akb/manifest.sig`, stored exactly
 * as they came in the bundle, carry a valid Ed25519 signature from a trusted key over the exact manifest
 * bytes; the manifest is a valid bundle manifest; and every file it lists is a regular file of the listed
 * size and SHA-256. Used by the agent at boot and by tests after every simulated power cut. Files in the
 * slot that the manifest does not list are not looked at.
 */
import { createHash, verify as verifySignature } from 'node:crypto';
import { posix } from 'node:path';
import { BundleManifest, BundleSignature } from '@akb/protocol';
import { FORMAT_LIMITS, DEFAULT_BUNDLE_LIMITS } from '../bundle/limits.js';
import type { TrustedKey } from '../keys.js';
import { errnoOf, type AgentFs } from './fs.js';

export type SlotVerdict =
  | { ok: true; manifest: BundleManifest; manifestSha256: string; keyId: string }
  | { ok: false; reason: string };

/** Where the stored manifest and signature of a slot live. */
export function slotMetaPaths(dir: string): { metaDir: string; manifest: string; signature: string } {
  const metaDir = posix.join(dir, '.akb');
  return { metaDir, manifest: posix.join(metaDir, 'manifest.json'), signature: posix.join(metaDir, 'manifest.sig') };
}

/**
 * Checks `signatureBytes` (the `manifest.sig` JSON) over `manifestBytes` against `trustedKeys`; returns
 * the key id, or a reason it is not accepted.
 */
export function checkManifestSignature(
  manifestBytes: Uint8Array,
  signatureBytes: Uint8Array,
  trustedKeys: readonly TrustedKey[],
): { ok: true; keyId: string } | { ok: false; reason: string } {
  let sig: unknown;
  try {
    sig = JSON.parse(Buffer.from(signatureBytes).toString('utf8'));
  } catch {
    return { ok: false, reason: 'manifest.sig is not JSON' };
  }
  const parsed = BundleSignature.safeParse(sig);
  if (!parsed.success) return { ok: false, reason: 'manifest.sig is not {v:1, algorithm:"ed25519", keyId, signature: base64 of 64 bytes}' };
  const s = parsed.data;
  const trusted = trustedKeys.find((k) => k.keyId === s.keyId);
  if (!trusted) return { ok: false, reason: `signed by key ${s.keyId.slice(0, 16)}…, which is not trusted` };
  const good = verifySignature(null, manifestBytes, trusted.key, Buffer.from(s.signature, 'base64'));
  return good ? { ok: true, keyId: trusted.keyId } : { ok: false, reason: 'the manifest signature does not verify' };
}

async function sha256Of(fs: AgentFs, path: string, limit: number): Promise<{ sha256: string; size: number } | undefined> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.readChunks(path)) {
    size += chunk.byteLength;
    if (size > limit) return undefined;
    hash.update(chunk);
  }
  return { sha256: hash.digest('hex'), size };
}

/** Reads and checks a slot; never throws for what the slot holds (only for a failing disk). */
export async function verifySlot(fs: AgentFs, dir: string, trustedKeys: readonly TrustedKey[]): Promise<SlotVerdict> {
  const paths = slotMetaPaths(dir);
  let manifestBytes: Buffer;
  let signatureBytes: Buffer;
  try {
    manifestBytes = await fs.readFile(paths.manifest, DEFAULT_BUNDLE_LIMITS.maxManifestBytes);
    signatureBytes = await fs.readFile(paths.signature, FORMAT_LIMITS.maxSignatureBytes);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return { ok: false, reason: `${dir} holds no stored manifest and signature` };
    if (errno === 'EFBIG' || errno === 'EISDIR' || errno === 'ELOOP') return { ok: false, reason: `${dir} has an oversized or odd .akb member` };
    throw e;
  }
  const signed = checkManifestSignature(manifestBytes, signatureBytes, trustedKeys);
  if (!signed.ok) return signed;
  let json: unknown;
  try {
    json = JSON.parse(manifestBytes.toString('utf8'));
  } catch {
    return { ok: false, reason: 'the stored manifest is not JSON' };
  }
  const parsed = BundleManifest.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `the stored manifest is not a bundle manifest: ${parsed.error.issues[0]?.message ?? ''}` };
  const manifest = parsed.data;
  for (const file of manifest.files) {
    const segments = file.path.split('/');
    if (posix.isAbsolute(file.path) || segments.some((s) => s === '' || s === '.' || s === '..') || segments[0] === '.akb') {
      return { ok: false, reason: `manifest path ${JSON.stringify(file.path)} escapes the slot` };
    }
    const path = posix.join(dir, file.path);
    const stat = await fs.stat(path);
    if (stat?.kind !== 'file') return { ok: false, reason: `${file.path} is ${stat ? `a ${stat.kind}` : 'missing'}` };
    if (stat.size !== file.size) return { ok: false, reason: `${file.path} is ${stat.size} bytes, the manifest says ${file.size}` };
    const got = await sha256Of(fs, path, file.size);
    if (!got || got.size !== file.size || got.sha256 !== file.sha256) return { ok: false, reason: `${file.path} does not match its SHA-256` };
  }
  return { ok: true, manifest, manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'), keyId: signed.keyId };
}
