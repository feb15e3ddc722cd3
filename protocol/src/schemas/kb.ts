/**
 * Source-KB sync. The cloud announces the current KB version retained on `akb/v1/fleet/kb/announce`;
 * a device whose copy differs fetches entries page by page with `kb.entries` requests on
 * `akb/v1/dev/{device}/kb/req` (a request envelope whose `args` is a KbEntryRequest) and gets response
 * envelopes on `akb/v1/dev/{device}/kb/res` (whose `data` is a KbEntryResponse). It checks the SHA-256
 * of the whole KB before switching to it.
 */
import { z } from 'zod';
import { Base64, base64ByteLength, EpochMillis, IsoDateTime, NonNegativeInt, PositiveInt, Sha256Hex, Text, Uint32 } from './common.js';
import { MessageSig } from './sig.js';

/** Operation name of entry requests (the `op` of the request envelope). */
export const KB_ENTRIES_OP = 'kb.entries';
/** Most entries one response may carry; keeps a response well under the 256 KiB message limit at 512 dims. */
export const KB_MAX_PAGE = 64;
/** Largest embedding dimension v1 allows. */
export const KB_MAX_DIMS = 4096;

/** Length of the (canonical) base64 text of a `dims`-value float32 embedding; the schema checks decoded bytes. */
export function embeddingBase64Length(dims: number): number {
  return 4 * Math.ceil((dims * 4) / 3);
}

export const KbAnnounce = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    kbVersion: Uint32.min(1).describe('KB version id: the first 32 bits (big-endian) of the SHA-256 of the KB keys (PROTOCOL.md, "KB version"); frame headers name it.'),
    entries: Uint32.describe('Number of entries (codebook size).'),
    dims: PositiveInt.max(KB_MAX_DIMS).describe('Embedding dimension of every entry.'),
    sha256: Sha256Hex.describe('SHA-256 of the KB snapshot as described in PROTOCOL.md ("KB digest"): every entry in index order.'),
    created: IsoDateTime.describe('When the KB was built.'),
    ts: EpochMillis.describe('When this announce was published.'),
    model: Text.max(200).optional().describe('Vision model (LVM agent) that built the embeddings, e.g. "clip-vit-b32".'),
    sig: MessageSig.optional(),
  })
  .meta({ title: 'KB announce', description: 'Retained on akb/v1/fleet/kb/announce by the cloud: the current source-KB version.' });
export type KbAnnounce = z.infer<typeof KbAnnounce>;

export const KbEntryRequest = z
  .strictObject({
    kbVersion: Uint32.min(1).describe('KB version the entries are wanted from; a cloud that no longer has it answers KB_VERSION_GONE.'),
    offset: NonNegativeInt.describe('Index of the first entry wanted.'),
    count: PositiveInt.max(KB_MAX_PAGE).describe(`How many entries, 1 to ${KB_MAX_PAGE}; fewer come back at the end.`),
  })
  .meta({ title: 'KB entry request', description: 'args of a kb.entries request (on akb/v1/dev/{device}/kb/req).' });
export type KbEntryRequest = z.infer<typeof KbEntryRequest>;

export const KbEntry = z
  .strictObject({
    index: NonNegativeInt.describe('Entry index; frame headers name it as the KB entry.'),
    embedding: Base64.max(4 * Math.ceil((KB_MAX_DIMS * 4) / 3)).describe(
      'The embedding: dims float32 values, little-endian, base64 (exactly dims*4 bytes once decoded).',
    ),
    prior: z.number().min(0).max(1).describe('Prior weight of the entry for the decoder (its share of the corpus).'),
    label: Text.max(200).optional().describe('Human-readable label of the cluster, if the LVM agent gave one.'),
  })
  .describe('One semantic entry of the source KB.');
export type KbEntry = z.infer<typeof KbEntry>;

export const KbEntryResponse = z
  .strictObject({
    kbVersion: Uint32.min(1).describe('KB version of the entries.'),
    offset: NonNegativeInt.describe('Index of the first entry returned (as asked).'),
    total: NonNegativeInt.describe('Number of entries of this KB version.'),
    dims: PositiveInt.max(KB_MAX_DIMS).describe('Embedding dimension.'),
    entries: z.array(KbEntry).max(KB_MAX_PAGE).describe('Entries offset, offset+1, ... in order.'),
    sig: MessageSig.optional(),
  })
  .refine((r) => r.entries.every((e, i) => e.index === r.offset + i), {
    message: 'entries must be consecutive from offset',
    path: ['entries'],
  })
  .refine((r) => r.entries.every((e) => base64ByteLength(e.embedding) === 4 * r.dims), {
    message: 'every embedding must decode to dims*4 bytes (dims float32 values)',
    path: ['entries'],
  })
  .meta({ title: 'KB entry response', description: 'data of a kb.entries response (on akb/v1/dev/{device}/kb/res).' });
export type KbEntryResponse = z.infer<typeof KbEntryResponse>;
