/**
 * `images.recent` and `images.tiles` on `akb/v1/cloud/ops/req`: the decoder's recent results, paged so that
 * every answer stays under the protocol's 256 KiB message limit by construction. The op used to return
 * every recent image with all its per-tile results: one Kodak image (768 x 512, 384 tiles) came to
 * ~100-150 KB, so two or three of them made the answer too large to send and the request failed
 * (BAD_RESPONSE).
 *
 * - `images.recent {device?, offset?, limit?}` → `{total, offset, images, next}`: summaries without
 *   per-tile results (their `counts` say how the tiles went), newest first, at most 50 a page.
 * - `images.tiles {device, session, image, offset?, limit?}` → `{device, session, image, tiles, offset,
 *   tileResults, next}`: one image's tile results, at most 256 a page.
 *
 * `next` is the offset of the following page, null after the last. Worst cases: an image row is at most
 * ~2.2 KB (a 256-character name escaped as \uXXXX takes 1.5 KB), a tile row at most ~0.8 KB (15 numbers
 * of 24 characters and their keys), so a page of 50 images or 256 tiles is under 210 KB with the envelope.
 * These schemas are local until the protocol names them (PROTOCOL.md, Operations).
 */
import { z } from 'zod';
import { AkbError, DEVICE_ID_PATTERN } from '@akb/protocol';
import type { ImageSummary, TileResult } from '../decode/images.js';

export const MAX_IMAGES_PAGE = 50;
export const MAX_TILES_PAGE = 256;
const DEFAULT_IMAGES_PAGE = 20;
const DEFAULT_TILES_PAGE = 128;

const DeviceId = z.string().regex(DEVICE_ID_PATTERN).refine((d) => d !== '.' && d !== '..', 'not a device id');
const Uint32 = z.number().int().min(0).max(0xffffffff);
const Offset = z.number().int().min(0).max(0xffffffff);
const Num = z.number().finite();

export const ImagesRecentArgs = z.strictObject({
  device: DeviceId.optional(),
  offset: Offset.optional(),
  limit: z.number().int().min(1).max(MAX_IMAGES_PAGE).optional(),
});
export type ImagesRecentArgs = z.infer<typeof ImagesRecentArgs>;

const Counts = z.strictObject({ decoded: Uint32, erased: Uint32, lost: Uint32, 'kb-mismatch': Uint32, elsewhere: Uint32 });

export const ImageRow = z.strictObject({
  device: DeviceId,
  session: Uint32,
  image: Uint32,
  name: z.string().max(256).nullable(),
  modelSet: z.string().max(64),
  kbVersion: Uint32,
  width: Uint32,
  height: Uint32,
  tile: Uint32,
  tiles: Uint32,
  psnr: Num.nullable(),
  meanSnrDb: Num.nullable(),
  counts: Counts,
  complete: z.boolean(),
  reason: z.enum(['complete', 'timeout', 'evicted', 'stopped']),
  startedAt: Num,
  finishedAt: Num,
});
export type ImageRow = z.infer<typeof ImageRow>;

export const ImagesRecentPage = z.strictObject({
  total: Uint32,
  offset: Offset,
  images: z.array(ImageRow).max(MAX_IMAGES_PAGE),
  next: Offset.nullable(),
});
export type ImagesRecentPage = z.infer<typeof ImagesRecentPage>;

export const ImagesTilesArgs = z.strictObject({
  device: DeviceId,
  session: Uint32,
  image: Uint32,
  offset: Offset.optional(),
  limit: z.number().int().min(1).max(MAX_TILES_PAGE).optional(),
});
export type ImagesTilesArgs = z.infer<typeof ImagesTilesArgs>;

export const TileRow = z.strictObject({
  index: Uint32,
  frameId: Uint32,
  status: z.enum(['decoded', 'erased', 'lost', 'kb-mismatch', 'elsewhere']),
  actionId: Num.optional(),
  channelUses: Num.optional(),
  powerDb: Num.optional(),
  length: Num.optional(),
  kbEntry: Num.optional(),
  snrDb: Num.optional(),
  snrSource: z.enum(['receiver', 'blind']).optional(),
  fragmentsExpected: Num,
  fragmentsLost: Num,
  symbolsErased: Num,
  psnr: Num.optional(),
  reward: Num.optional(),
  decodeMs: Num.optional(),
});

export const ImagesTilesPage = z.strictObject({
  device: DeviceId,
  session: Uint32,
  image: Uint32,
  tiles: Uint32,
  offset: Offset,
  tileResults: z.array(TileRow).max(MAX_TILES_PAGE),
  next: Offset.nullable(),
});
export type ImagesTilesPage = z.infer<typeof ImagesTilesPage>;

/** An image summary as a row of `images.recent` (no per-tile results; absent values as null). */
export function imageRow(s: ImageSummary): ImageRow {
  return {
    device: s.device,
    session: s.session,
    image: s.image,
    name: s.name ?? null,
    modelSet: s.modelSet,
    kbVersion: s.kbVersion,
    width: s.width,
    height: s.height,
    tile: s.tile,
    tiles: s.tiles,
    psnr: finiteOrNull(s.psnr),
    meanSnrDb: finiteOrNull(s.meanSnrDb),
    counts: { ...s.counts },
    complete: s.complete,
    reason: s.reason,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
  };
}

/** `images.recent`: `recent` is oldest first (as the decoder keeps it); pages run newest first. */
export function recentPage(recent: readonly ImageSummary[], rawArgs: unknown): ImagesRecentPage {
  const args = parse(ImagesRecentArgs, rawArgs ?? {}, 'images.recent', `{device?, offset?, limit? <= ${MAX_IMAGES_PAGE}}`);
  const all = recent.filter((r) => args.device === undefined || r.device === args.device).reverse();
  const offset = args.offset ?? 0;
  const end = Math.min(all.length, offset + (args.limit ?? DEFAULT_IMAGES_PAGE));
  return { total: all.length, offset, images: all.slice(offset, end).map(imageRow), next: end < all.length ? end : null };
}

/** `images.tiles`: one recent image's tile results, in tile order. */
export function tilesPage(recent: readonly ImageSummary[], rawArgs: unknown): ImagesTilesPage {
  const args = parse(ImagesTilesArgs, rawArgs, 'images.tiles', `{device, session, image, offset?, limit? <= ${MAX_TILES_PAGE}}`);
  const found = recent.findLast((r) => r.device === args.device && r.session === args.session && r.image === args.image);
  if (found === undefined) {
    throw new AkbError('NOT_FOUND', `image ${args.image} of ${args.device} (session ${args.session}) is not among the recent results`, {
      hint: 'images.recent lists the images kept',
    });
  }
  const offset = args.offset ?? 0;
  const end = Math.min(found.tileResults.length, offset + (args.limit ?? DEFAULT_TILES_PAGE));
  return {
    device: found.device,
    session: found.session,
    image: found.image,
    tiles: found.tiles,
    offset,
    tileResults: found.tileResults.slice(offset, end).map(tileRow),
    next: end < found.tileResults.length ? end : null,
  };
}

function tileRow(t: TileResult): z.infer<typeof TileRow> {
  const row: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined && (typeof v !== 'number' || Number.isFinite(v))) row[k] = v;
  return row as z.infer<typeof TileRow>;
}

function finiteOrNull(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, op: string, shape: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new AkbError('BAD_REQUEST', `${op}: at ${issue?.path.join('.') || 'args'}: ${issue?.message ?? 'invalid'}`, { hint: `args: ${shape}` });
}
