/**
 * The two fingerprints of a source KB.
 *
 * - The KB digest that `KbAnnounce.sha256` carries: SHA-256 over every entry in index order, each entry
 *   contributing its embedding (dims float32 values, little-endian) followed by its prior (one float32,
 *   little-endian). Labels are not part of it. A device computes it over the entries it fetched and
 *   switches to the new KB only when it matches.
 * - The KB version (`kbVersion` in frame headers, announces, image-meta, feedback): the first 32 bits,
 *   big-endian, of the SHA-256 of the keys alone (the snapshot's `keys.f32`: every embedding in index
 *   order, float32 little-endian, no priors). Edge and cloud derive it from the snapshot they hold, so it
 *   needs no counter they would have to agree on. 0 means "no KB".
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

/** SHA-256 of a KB's keys: every embedding in index order as float32 little-endian (the bytes of `keys.f32`). */
export function kbKeysSha256(embeddings: Iterable<ArrayLike<number>>): string {
  const hash = createHash('sha256');
  for (const embedding of embeddings) {
    const bytes = new Uint8Array(4 * embedding.length);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < embedding.length; i++) view.setFloat32(4 * i, embedding[i] ?? 0, true);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/** The kbVersion of a KB with these embeddings: the first 4 bytes of `kbKeysSha256`, big-endian. */
export function kbVersionOf(embeddings: Iterable<ArrayLike<number>>): number {
  return Number.parseInt(kbKeysSha256(embeddings).slice(0, 8), 16) >>> 0;
}
