/**
 * The KB digest that `KbAnnounce.sha256` carries: SHA-256 over every entry in index order, each entry
 * contributing its embedding (dims float32 values, little-endian) followed by its prior (one float32,
 * little-endian). Labels are not part of it. A device computes it over the entries it fetched and
 * switches to the new KB only when it matches.
 */
import { createHash } from 'node:crypto';

export interface KbDigestEntry {
  /** The embedding values; exactly `dims` of them. */
  readonly embedding: ArrayLike<number>;
  /** The entry's prior weight. */
  readonly prior: number;
}

export function kbDigest(entries: Iterable<KbDigestEntry>): string {
  const hash = createHash('sha256');
  for (const entry of entries) {
    const bytes = new Uint8Array(4 * (entry.embedding.length + 1));
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < entry.embedding.length; i++) view.setFloat32(4 * i, entry.embedding[i] ?? 0, true);
    view.setFloat32(4 * entry.embedding.length, entry.prior, true);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/** Decodes a base64 float32 little-endian embedding (as in KbEntry.embedding) into numbers. */
export function decodeEmbedding(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const values = new Float32Array(Math.floor(bytes.length / 4));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  return values;
}

/** Encodes float32 values as base64 little-endian (the KbEntry.embedding form). */
export function encodeEmbedding(values: ArrayLike<number>): string {
  const bytes = Buffer.alloc(4 * values.length);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i] ?? 0, 4 * i);
  return bytes.toString('base64');
}
