/**
 * `akb bundle inspect|verify`: a bundle's manifest summary and signer, and a full verification (trusted
 * signature, then every member's size and SHA-256, streamed; nothing is written). Verify prints one line
 * "ok ..." and exits 0 only when everything checks out; otherwise one error line and a non-zero exit.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { BundleHeader } from '@akb/flash';
// the limits alone (not the whole package), so `akb --help` stays quick
import { DEFAULT_BUNDLE_LIMITS, describeLimits } from '@akb/flash/limits';
import { defineCommand, defineGroup } from './define.js';
import { emit } from '../run-command.js';

const TRUST = 'trusted public key: a .pub file or a folder of them (repeatable)';

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { end: DEFAULT_BUNDLE_LIMITS.maxBundleBytes })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function summary(file: string, sha256: string, h: BundleHeader) {
  const m = h.manifest;
  const roles: Record<string, { files: number; bytes: number }> = {};
  for (const f of m.files) {
    const r = (roles[f.role] ??= { files: 0, bytes: 0 });
    r.files += 1;
    r.bytes += f.size;
  }
  return {
    file,
    sha256,
    name: m.name,
    version: m.version,
    targetProfiles: m.targetProfiles,
    created: m.created,
    runtime: m.runtime,
    ...(m.description === undefined ? {} : { description: m.description }),
    files: m.files.length,
    bytes: m.files.reduce((s, f) => s + f.size, 0),
    roles,
    keyId: h.keyId,
    signature: h.signature,
    ...(h.signer === undefined ? {} : { trustedKey: h.signer.source }),
  };
}

const mb = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${n} bytes`);

const SIGNATURE_TEXT = {
  verified: 'trusted key, signature verified',
  untrusted: 'NOT TRUSTED (pass --trust with its .pub to check the signature)',
  'bad-signature': 'BAD SIGNATURE (a trusted key id, but the signature does not verify)',
} as const;

const inspect = defineCommand({
  command: 'inspect <file>',
  describe: 'Show a bundle\'s manifest: name, version, profiles, files by role, and who signed it',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'the .akb bundle' })
      .option('trust', { type: 'string', array: true, default: [] as string[], describe: TRUST })
      .option('json', { type: 'boolean', default: false })
      .epilog('Reads only the head of the bundle (format version, manifest, signature); `akb bundle verify` checks every file.'),
  run: async (args, io) => {
    const { loadTrustedKeys, readBundle } = await import('@akb/flash');
    const trustedKeys = await loadTrustedKeys(args.trust);
    const header = await readBundle(args.file, { trustedKeys, verify: false, headerOnly: true });
    const s = summary(args.file, await fileDigest(args.file), header);
    emit(io, args.json, s, () => [
      `bundle    ${s.file} (sha256 ${s.sha256})`,
      `name      ${s.name} ${s.version}`,
      `profiles  ${s.targetProfiles.join(', ')}`,
      `created   ${s.created}`,
      `runtime   ${s.runtime.arch}${s.runtime.node === undefined ? '' : `, Node.js ${s.runtime.node}`}`,
      `files     ${s.files} (${mb(s.bytes)})`,
      ...Object.entries(s.roles).map(([role, r]) => `  ${role.padEnd(13)} ${String(r.files).padStart(5)}  ${mb(r.bytes)}`),
      `signer    ${s.keyId}: ${SIGNATURE_TEXT[s.signature]}${s.trustedKey === undefined ? '' : ` (${s.trustedKey})`}`,
      ...(s.description === undefined ? [] : [`notes     ${s.description.split('\n')[0] ?? ''}`]),
    ]);
  },
});

const verify = defineCommand({
  command: 'verify <file>',
  describe: 'Verify a bundle: trusted Ed25519 signature, then every member\'s size and SHA-256 (writes nothing)',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'the .akb bundle' })
      .option('trust', { type: 'string', array: true, demandOption: true, describe: TRUST })
      .option('json', { type: 'boolean', default: false })
      .epilog(`Exit 0 and one line "ok ..." only when the signature is by a trusted key and every file matches the manifest; otherwise one error line and exit 1 (2: bad arguments). Limits enforced: ${describeLimits().join('; ')}.`),
  run: async (args, io) => {
    const { loadTrustedKeys, readBundle } = await import('@akb/flash');
    const trustedKeys = await loadTrustedKeys(args.trust);
    const header = await readBundle(args.file, { trustedKeys });
    const s = summary(args.file, await fileDigest(args.file), header);
    emit(io, args.json, { ok: true, ...s }, () => [
      `ok ${s.name} ${s.version} for ${s.targetProfiles.join(',')} (${s.runtime.arch}): ${s.files} files, ${mb(s.bytes)}, signed by ${s.keyId.slice(0, 16)} (${s.trustedKey ?? '?'}), sha256 ${s.sha256}`,
    ]);
  },
});

export const bundleCommand = defineGroup('bundle', 'Inspect and verify signed bundles (.akb)', [inspect, verify]);
