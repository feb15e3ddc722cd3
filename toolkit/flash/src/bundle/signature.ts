/**
 * `manifest.sig`: an Ed25519 signature over the exact bytes of `manifest.json`, named by the signer's
 * key id. Writing it, parsing it as hostile input, and checking it against the trusted keys.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { BundleSignature, describeIssues } from '@akb/protocol';
import { keyIdOf, type TrustedKey } from '../keys.js';
import { bundleError } from './errors.js';

/** What a reader concluded about the signature. */
export type SignatureStatus = 'verified' | 'untrusted' | 'bad-signature';

/** The bytes of `manifest.sig` for `manifestBytes`, signed with an Ed25519 private key. */
export function signatureBytes(manifestBytes: Uint8Array, key: KeyObject): Buffer {
  const doc: BundleSignature = {
    v: 1,
    algorithm: 'ed25519',
    keyId: keyIdOf(key),
    signature: sign(null, manifestBytes, key).toString('base64'),
  };
  return Buffer.from(`${JSON.stringify(doc)}\n`);
}

export function parseSignature(bytes: Buffer): BundleSignature {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw bundleError('BUNDLE_BAD_SIGNATURE', 'manifest.sig is not JSON');
  }
  const parsed = BundleSignature.safeParse(value);
  if (!parsed.success) throw bundleError('BUNDLE_BAD_SIGNATURE', `manifest.sig is malformed: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** Checks `sig` over `manifestBytes`: the key must be trusted and the signature must verify with it. */
export function checkSignature(
  manifestBytes: Buffer,
  sig: BundleSignature,
  trustedKeys: readonly TrustedKey[],
): { status: SignatureStatus; signer: TrustedKey | undefined; error?: Error } {
  const signer = trustedKeys.find((k) => k.keyId === sig.keyId);
  if (signer === undefined) {
    const why = trustedKeys.length === 0 ? 'no keys are trusted' : `it is not among the ${trustedKeys.length} trusted key(s)`;
    return { status: 'untrusted', signer: undefined, error: bundleError('BUNDLE_UNTRUSTED_KEY', `the bundle is signed by key ${sig.keyId.slice(0, 16)}…, and ${why}`) };
  }
  const ok = verify(null, manifestBytes, signer.key, Buffer.from(sig.signature, 'base64'));
  if (!ok) {
    return {
      status: 'bad-signature',
      signer: undefined,
      error: bundleError('BUNDLE_BAD_SIGNATURE', `the signature over manifest.json does not verify with trusted key ${sig.keyId.slice(0, 16)}… (${signer.source})`),
    };
  }
  return { status: 'verified', signer };
}
