/**
 * The errors a bundle reader and writer throw: AkbErrors with distinct codes, one line each, with a hint.
 * Member names quoted from a hostile archive are cut short and stripped of control characters.
 */
import { AkbError } from '@akb/protocol';

export type BundleErrorCode =
  | 'BUNDLE_NOT_FOUND'
  | 'BUNDLE_UNREADABLE'
  | 'BUNDLE_NOT_GZIP'
  | 'BUNDLE_TRUNCATED'
  | 'BUNDLE_CORRUPT'
  | 'BUNDLE_UNSUPPORTED_VERSION'
  | 'BUNDLE_TOO_LARGE'
  | 'BUNDLE_UNSAFE_MEMBER'
  | 'BUNDLE_UNEXPECTED_MEMBER'
  | 'BUNDLE_MISSING_MEMBER'
  | 'BUNDLE_BAD_MANIFEST'
  | 'BUNDLE_BAD_SIGNATURE'
  | 'BUNDLE_UNTRUSTED_KEY'
  | 'BUNDLE_SIZE_MISMATCH'
  | 'BUNDLE_HASH_MISMATCH'
  | 'BUNDLE_BAD_INPUT'
  | 'BUNDLE_WRITE_FAILED';

const HINTS: Record<BundleErrorCode, string> = {
  BUNDLE_NOT_FOUND: 'check the path',
  BUNDLE_UNREADABLE: 'check the path and its permissions',
  BUNDLE_NOT_GZIP: 'an .akb bundle is a gzip-compressed tar made by `akb package`',
  BUNDLE_TRUNCATED: 'the file is incomplete; copy or download it again',
  BUNDLE_CORRUPT: 'the file is damaged or not an akb bundle; fetch or rebuild it',
  BUNDLE_UNSUPPORTED_VERSION: 'this akb reads bundle format 1; update akb or rebuild the bundle',
  BUNDLE_TOO_LARGE: 'the limits are listed by `akb bundle verify --help`',
  BUNDLE_UNSAFE_MEMBER: 'bundles hold only regular files with plain relative paths; this one was not made by `akb package`',
  BUNDLE_UNEXPECTED_MEMBER: 'members must be exactly the manifest\'s files, in its order; rebuild the bundle with `akb package`',
  BUNDLE_MISSING_MEMBER: 'the bundle lacks a file its manifest lists; rebuild it with `akb package`',
  BUNDLE_BAD_MANIFEST: 'rebuild the bundle with `akb package`',
  BUNDLE_BAD_SIGNATURE: 'the manifest was changed after signing, or signed by another key; do not install it',
  BUNDLE_UNTRUSTED_KEY: 'trust the signer\'s .pub with --trust (or put it in /etc/akb/keys) only if you know whose key it is',
  BUNDLE_SIZE_MISMATCH: 'the file differs from what was signed; do not install it',
  BUNDLE_HASH_MISMATCH: 'the file differs from what was signed; do not install it',
  BUNDLE_BAD_INPUT: 'fix the packaging input',
  BUNDLE_WRITE_FAILED: 'check the output folder: free space, permissions',
};

export function bundleError(code: BundleErrorCode, message: string, cause?: unknown): AkbError {
  return new AkbError(code, message, { hint: HINTS[code], ...(cause === undefined ? {} : { cause }) });
}

/** A hostile name made printable on one line, at most 120 characters. */
export function quote(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, '?');
  return JSON.stringify(clean.length > 120 ? `${clean.slice(0, 120)}…` : clean);
}
