/**
 * Bounds on what an `image-meta` may make the cloud hold, checked before anything is allocated. A
 * schema-valid meta of ~200 bytes may announce 65535 x 65535 pixels and 2^20 tiles; taken as it stood,
 * one meta of 32768 x 32768 made the cloud reserve 12.9 GB for its reconstruction and, when it timed
 * out, start 2^20 tile decodes at once (and an O(tiles²) scan), so it stopped answering for minutes and
 * did not see SIGTERM.
 *
 * - Size: width and height at most `maxSide`, width x height at most `maxPixels`, tiles at most
 *   `maxTiles`. A meta beyond any of them is refused (`IMAGE_TOO_LARGE`, `TOO_MANY_TILES`).
 * - Budget: a device holds at most `maxOpenImagesPerDevice` open (incomplete) images and
 *   `maxOpenBytesPerDevice` bytes of them; all devices together at most `maxOpenBytes`. An image costs
 *   `imageCost(meta)`: its float32 reconstruction (12 bytes a pixel) plus `TILE_COST` a tile.
 *   A meta that alone exceeds the device budget is refused (`DEVICE_BUDGET`). Otherwise the device's own
 *   oldest open images (by meta arrival) are finished at once as they stand (reason `evicted`: tiles
 *   not yet received are marked lost and not decoded) until the new one fits its device's budget and the
 *   cloud's; when even evicting all of that device's images would not fit the cloud's budget (other
 *   devices hold it), the meta is refused (`CLOUD_BUDGET`). One device never evicts another's images.
 */
import type { ImageMetaMessage } from '@akb/protocol';

export interface ImageLimits {
  /** Widest and tallest image, pixels (default 4096). */
  maxSide: number;
  /** Most pixels of one image (default 16 Mi = 4096 x 4096). */
  maxPixels: number;
  /** Most tiles of one image (default 16384 = a 4096 x 4096 image in 32-pixel tiles). */
  maxTiles: number;
  /** Open images per device (default 256: the edge sends bursts of small images, up to 32 in one model run; the byte budgets bound memory). */
  maxOpenImagesPerDevice: number;
  /** Bytes of open images per device (default 256 MiB: one 4096 x 4096 image takes 192 MiB). */
  maxOpenBytesPerDevice: number;
  /** Bytes of open images of all devices (default 1 GiB). */
  maxOpenBytes: number;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxSide: 4096,
  maxPixels: 4096 * 4096,
  maxTiles: 16384,
  maxOpenImagesPerDevice: 256,
  maxOpenBytesPerDevice: 256 * 2 ** 20,
  maxOpenBytes: 2 ** 30,
});

/** Why a meta is refused (counted by reason in the decoder's stats). */
export type MetaRefusal = 'IMAGE_TOO_LARGE' | 'TOO_MANY_TILES' | 'DEVICE_BUDGET' | 'CLOUD_BUDGET';

/** Bytes a tile's bookkeeping takes, estimated generously (its result object and slot). */
export const TILE_COST = 512;

/** What an open image costs against the budgets: its reconstruction plus its tiles' bookkeeping. */
export function imageCost(meta: Pick<ImageMetaMessage, 'width' | 'height' | 'tiles'>): number {
  return 12 * meta.width * meta.height + TILE_COST * meta.tiles;
}

/** The size rule: a reason to refuse `meta` outright, or undefined. */
export function sizeRefusal(meta: Pick<ImageMetaMessage, 'width' | 'height' | 'tiles'>, limits: ImageLimits): MetaRefusal | undefined {
  if (meta.width > limits.maxSide || meta.height > limits.maxSide || meta.width * meta.height > limits.maxPixels) return 'IMAGE_TOO_LARGE';
  if (meta.tiles > limits.maxTiles) return 'TOO_MANY_TILES';
  if (imageCost(meta) > limits.maxOpenBytesPerDevice || imageCost(meta) > limits.maxOpenBytes) return 'DEVICE_BUDGET';
  return undefined;
}

/** Fills in defaults and checks that every limit is a positive integer. */
export function imageLimits(partial: Partial<ImageLimits> = {}): ImageLimits {
  const limits = { ...DEFAULT_IMAGE_LIMITS, ...definedOnly(partial) };
  for (const [k, v] of Object.entries(limits)) {
    if (!(Number.isSafeInteger(v) && v >= 1)) throw new RangeError(`image limit ${k} must be a positive integer, not ${String(v)}`);
  }
  return limits;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
