/**
 * The bundle manifest: `manifest.json` inside a bundle tar, signed (Ed25519) as the exact bytes stored.
 * It names the artifact and the profiles it targets and lists the SHA-256 of every payload file; a device
 * verifies every hash and the signature before switching slots.
 */
import { z } from 'zod';
import { CpuArch, IsoDateTime, NonNegativeInt, ProfileId, RelativePath, SchemaRef, SemVer, Sha256Hex, Slug, Text } from './common.js';

export const BUNDLE_FORMAT_VERSION = 1;

export const BundleFileRole = z
  .enum(['model', 'model-card', 'kb', 'config', 'runtime', 'native-addon', 'script', 'other'])
  .describe('What the file is: an ONNX model, its card, a KB snapshot, configuration, the runtime, a native addon, an install script, or other.');
export type BundleFileRole = z.infer<typeof BundleFileRole>;

export const BundleFile = z
  .strictObject({
    path: RelativePath.describe('Path inside the bundle payload, with "/" separators.'),
    sha256: Sha256Hex.describe('SHA-256 of the file bytes.'),
    size: NonNegativeInt.describe('File size, bytes.'),
    role: BundleFileRole,
    mode: z.number().int().min(0).max(0o777).optional().describe('POSIX permission bits (e.g. 493 for 0755); default 0644.'),
  })
  .describe('One payload file.');
export type BundleFile = z.infer<typeof BundleFile>;

export const BundleManifest = z
  .strictObject({
    $schema: SchemaRef,
    formatVersion: z.literal(BUNDLE_FORMAT_VERSION).describe('Bundle format version; readers refuse other values.'),
    name: Slug.describe('Artifact name, e.g. "akb-edge-rpi".'),
    version: SemVer.describe('Artifact version; a device refuses one older than it runs unless forced.'),
    targetProfiles: z
      .array(ProfileId)
      .min(1)
      .max(64)
      .refine((ids) => new Set(ids).size === ids.length, 'target profiles must be unique')
      .describe('Device profiles the bundle may be installed on.'),
    created: IsoDateTime.describe('When the bundle was built.'),
    description: Text.optional().describe('Release notes, for people.'),
    runtime: z
      .strictObject({
        arch: CpuArch.describe('CPU architecture the runtime and its native addons are built for.'),
        node: z.string().max(64).optional().describe('Node.js versions the runtime needs, as a semver range, e.g. ">=20.19".'),
      })
      .describe('What the bundled runtime needs.'),
    files: z
      .array(BundleFile)
      .min(1)
      .max(10_000)
      .refine((files) => new Set(files.map((f) => f.path)).size === files.length, 'file paths must be unique')
      .describe('Every payload file, each with its hash; files not listed are refused.'),
  })
  .meta({ title: 'Bundle manifest', description: 'manifest.json of an akb bundle: artifact, targets and the hash of every payload file.' });
export type BundleManifest = z.infer<typeof BundleManifest>;

/** The content of `akb-bundle`, the first member: the format version as ASCII text. */
export const BUNDLE_VERSION_TEXT = `akb-bundle ${BUNDLE_FORMAT_VERSION}\n`;

export const BundleSignature = z
  .strictObject({
    v: z.literal(1).describe('Version of this signature document.'),
    algorithm: z.literal('ed25519').describe('Signature algorithm: Ed25519 (RFC 8032, pure, no pre-hash).'),
    keyId: Sha256Hex.describe('SHA-256 of the raw 32-byte Ed25519 public key that signed.'),
    signature: z
      .string()
      .regex(/^[A-Za-z0-9+/]{86}==$/, 'base64 of 64 bytes')
      .describe('Base64 (with padding) of the 64-byte Ed25519 signature over the exact bytes of manifest.json.'),
  })
  .meta({ title: 'Bundle signature', description: 'manifest.sig of an akb bundle: who signed manifest.json, and the signature.' });
export type BundleSignature = z.infer<typeof BundleSignature>;
