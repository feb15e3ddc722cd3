/**
 * Test helpers for hostile bundles: raw ustar headers of any type and path (what no honest writer makes),
 * signed heads (akb-bundle, manifest.json, manifest.sig) over given payload files, and temp folders.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUNDLE_VERSION_TEXT, type BundleManifest } from '@akb/protocol';
import { keyIdOf, type TrustedKey } from '../src/keys.js';
import { signatureBytes } from '../src/bundle/signature.js';

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `akb-flash-${tag}-`));
}

export function ed25519(source = 'test'): { key: KeyObject; trusted: TrustedKey } {
  const pair = generateKeyPairSync('ed25519');
  return { key: pair.privateKey, trusted: { keyId: keyIdOf(pair.publicKey), key: pair.publicKey, source } };
}

export interface RawEntry {
  name: string;
  content?: Uint8Array;
  /** Type flag character; default '0'. */
  type?: string;
  /** Size written in the header; default the content's length. */
  size?: number;
  /** Raw 12-byte size field text, overriding `size` (e.g. base-256 or garbage). */
  sizeField?: string;
  /** Corrupt the header checksum. */
  badChecksum?: boolean;
  /** Magic field (8 bytes at 257); default "ustar\0" + "00". */
  magic?: string;
  linkName?: string;
}

/** One raw ustar header block (name up to 100 bytes, no prefix). */
export function rawHeader(e: RawEntry): Buffer {
  const block = Buffer.alloc(512);
  block.write(e.name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  const size = e.size ?? e.content?.length ?? 0;
  block.write(e.sizeField ?? `${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  block.write('00000000000\0', 136, 'latin1');
  block.write('        ', 148, 'latin1');
  block.write(e.type ?? '0', 156, 'latin1');
  if (e.linkName !== undefined) block.write(e.linkName, 157, 100, 'utf8');
  block.write(e.magic ?? 'ustar\u000000', 257, 8, 'latin1');
  let sum = 0;
  for (const b of block) sum += b;
  if (e.badChecksum === true) sum += 1;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** An uncompressed tar of raw entries, with the end-of-archive marker unless `end` is false. */
export function rawTar(entries: RawEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(rawHeader(e));
    const content = Buffer.from(e.content ?? new Uint8Array());
    parts.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const gz = (b: Uint8Array): Buffer => gzipSync(b);

export interface PayloadFile {
  path: string;
  content: Uint8Array;
}

/** A valid manifest for `files` (sorted by the caller). */
export function manifestFor(files: PayloadFile[], extra: Partial<BundleManifest> = {}): BundleManifest {
  return {
    formatVersion: 1,
    name: 'akb-test',
    version: '1.0.0',
    targetProfiles: ['rpi-5'],
    created: '2025-01-01T00:00:00Z',
    runtime: { arch: 'arm64' },
    files: files.map((f) => ({ path: f.path, sha256: createHash('sha256').update(f.content).digest('hex'), size: f.content.length, role: 'other' as const })),
    ...extra,
  };
}

/** akb-bundle, manifest.json and manifest.sig entries, signed with `key` (manifest bytes as given). */
export function signedHead(manifest: BundleManifest | Buffer, key: KeyObject): RawEntry[] {
  const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  return [
    { name: 'akb-bundle', content: Buffer.from(BUNDLE_VERSION_TEXT) },
    { name: 'manifest.json', content: bytes },
    { name: 'manifest.sig', content: signatureBytes(bytes, key) },
  ];
}

/** Entries of payload files as members. */
export function payloadEntries(files: PayloadFile[]): RawEntry[] {
  return files.map((f) => ({ name: `payload/${f.path}`, content: f.content }));
}
