/**
 * images.recent / images.tiles pages stay under the 256 KiB message limit by construction: worst-case
 * rows (names of 256 control characters, every number at its longest JSON form) in full pages still
 * encode as a response envelope.
 */
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, encodeMessage } from '@akb/protocol';
import type { ImageSummary, TileResult } from '../decode/images.js';
import { ImagesRecentPage, ImagesTilesPage, MAX_IMAGES_PAGE, MAX_TILES_PAGE, recentPage, tilesPage } from './images-ops.js';

const LONG = -1.2345678901234567e-100; // 24 characters in JSON

function tile(index: number, worst: boolean): TileResult {
  const n = worst ? LONG : 1.5;
  return {
    index, frameId: 4294967295, status: 'kb-mismatch', actionId: n, channelUses: n, powerDb: n, length: n, kbEntry: n, snrDb: n,
    fragmentsExpected: n, fragmentsLost: n, symbolsErased: n, psnr: n, reward: n, decodeMs: n,
  };
}

function image(device: string, i: number, tiles: number, worst = false): ImageSummary {
  return {
    device, session: 4294967295, image: i, name: worst ? '\u0001'.repeat(256) : `kodim${i}.png`, modelSet: 'a'.repeat(64), kbVersion: 4294967295,
    width: 768, height: 512, tile: 32, tiles, tileResults: Array.from({ length: tiles }, (_, k) => tile(k, worst)),
    psnr: worst ? LONG : 30, meanSnrDb: worst ? LONG : 5, counts: { decoded: tiles, erased: 0, lost: 0, 'kb-mismatch': 0, elsewhere: 0 },
    complete: true, reason: 'complete', startedAt: 8.64e15, finishedAt: 8.64e15,
  };
}

const envelopeBytes = (data: unknown): number =>
  Buffer.byteLength(encodeMessage('response', { v: 1, id: 'x'.repeat(64), status: 'ok', data }), 'utf8');

describe('paged images.recent and images.tiles', () => {
  it('the old unpaged answer did not fit: three Kodak-sized results (384 tiles each) with their tiles', () => {
    // Thrown at it: what images.recent used to return once three images of 384 tiles were kept, even
    // with short numbers (1.5) in every tile field.
    const ring = Array.from({ length: 3 }, (_, i) => image('cam-01', i, 384));
    expect(() => envelopeBytes(ring)).toThrow(/exceeds the limit of 262144/);
  });

  it('a full page of worst-case image rows fits, newest first, with next offsets', () => {
    const ring = Array.from({ length: 120 }, (_, i) => image(i % 2 === 0 ? 'cam-01' : 'x'.repeat(64), i, 16384 / 64, true));
    const page = recentPage(ring, { limit: MAX_IMAGES_PAGE });
    expect(ImagesRecentPage.parse(page).images).toHaveLength(MAX_IMAGES_PAGE);
    expect(envelopeBytes(page)).toBeLessThan(MAX_MESSAGE_BYTES);
    expect([page.total, page.next, page.images[0]!.image]).toEqual([120, 50, 119]);
    const cam = recentPage(ring, { device: 'cam-01', offset: 40, limit: 50 });
    expect([cam.total, cam.images.length, cam.next, cam.images[0]!.image]).toEqual([60, 20, null, 38]);
    expect(recentPage(ring, undefined).images).toHaveLength(20);
  });

  it('a full page of worst-case tile rows fits, and the pages cover every tile once', () => {
    const ring = [image('cam-01', 7, 16384, true)];
    const first = tilesPage(ring, { device: 'cam-01', session: 4294967295, image: 7, limit: MAX_TILES_PAGE });
    expect(ImagesTilesPage.parse(first).tileResults).toHaveLength(MAX_TILES_PAGE);
    expect(envelopeBytes(first)).toBeLessThan(MAX_MESSAGE_BYTES);
    const seen: number[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const p = tilesPage(ring, { device: 'cam-01', session: 4294967295, image: 7, offset, limit: MAX_TILES_PAGE });
      seen.push(...p.tileResults.map((t) => t.index));
      offset = p.next;
    }
    expect(seen).toEqual(Array.from({ length: 16384 }, (_, i) => i));
  });

  it('refuses bad arguments and an unknown image with one line', () => {
    // Thrown at it: a limit over the page bound, an extra field, a device id with a slash, an image not kept.
    expect(() => recentPage([], { limit: MAX_IMAGES_PAGE + 1 })).toThrowError(expect.objectContaining({ code: 'BAD_REQUEST' }) as Error);
    expect(() => recentPage([], { evil: 1 })).toThrowError(expect.objectContaining({ code: 'BAD_REQUEST' }) as Error);
    expect(() => tilesPage([], { device: 'a/b', session: 1, image: 1 })).toThrowError(expect.objectContaining({ code: 'BAD_REQUEST' }) as Error);
    expect(() => tilesPage([], { device: 'a', session: 1, image: 1 })).toThrowError(expect.objectContaining({ code: 'NOT_FOUND' }) as Error);
  });
});
