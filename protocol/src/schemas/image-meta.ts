/**
 * What a receiver needs to put an image back together: the edge publishes one `image-meta` on
 * `akb/v1/dev/{device}/link/meta` before the frames of an image. Each 32x32 (`tile`) tile is one frame;
 * tile i of the image is frame `firstFrameId + i` of the link session, in row-major order.
 */
import { z } from 'zod';
import { EpochMillis, PositiveInt, Uint32 } from './common.js';

export const ImageMetaMessage = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    session: Uint32.describe('Link session id, as in the frame headers.'),
    image: Uint32.describe('Sequence number of the image in the session.'),
    name: z.string().max(256).optional().describe('Name of the source image (a file name), for reports and references.'),
    width: PositiveInt.max(65535).describe('Image width, pixels.'),
    height: PositiveInt.max(65535).describe('Image height, pixels.'),
    tile: PositiveInt.max(4096).describe('Tile side, pixels (the model input size).'),
    tiles: PositiveInt.max(1 << 20).describe('Tiles, row-major: ceil(width/tile) * ceil(height/tile).'),
    firstFrameId: Uint32.describe('Frame id of tile 0; tile i is frame firstFrameId + i (mod 2^32).'),
    modelSet: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/).describe('Model set the tiles were encoded with (models/sets/<name>.json).'),
    kbVersion: Uint32.describe('Source-KB version id the encoder used (0 when the set has no KB).'),
    ts: EpochMillis.describe('When the edge started sending the image.'),
  })
  .refine((m) => m.tiles === Math.ceil(m.width / m.tile) * Math.ceil(m.height / m.tile), {
    message: 'tiles must equal ceil(width/tile) * ceil(height/tile)',
    path: ['tiles'],
  })
  .meta({ title: 'Image meta', description: 'Edge to receiver, on akb/v1/dev/{device}/link/meta, before the frames of one image.' });
export type ImageMetaMessage = z.infer<typeof ImageMetaMessage>;
