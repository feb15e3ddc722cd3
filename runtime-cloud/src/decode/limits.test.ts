/**
 * What an image-meta may make the cloud hold (limits.ts), on the ImageBook alone: sizes refused before
 * anything is allocated, the per-device and overall budgets, and which images are pushed out.
 */
import { describe, expect, it } from 'vitest';
import type { ImageMetaMessage } from '@akb/protocol';
import { ImageBook } from './images.js';
import { DEFAULT_IMAGE_LIMITS, imageCost, imageLimits, sizeRefusal, type ImageLimits } from './limits.js';

function meta(width: number, height: number, image = 0, session = 1): ImageMetaMessage {
  const tiles = Math.ceil(width / 32) * Math.ceil(height / 32);
  return { v: 1, session, image, width, height, tile: 32, tiles, firstFrameId: image * 100_000, modelSet: 'akb-k256', kbVersion: 1, ts: 1 };
}

function book(limits: Partial<ImageLimits> = {}): ImageBook {
  return new ImageBook({ imageTimeoutMs: 1000, ringSize: 4, limits: imageLimits(limits), now: () => 0 });
}

describe('image limits and budgets', () => {
  it('refuses the hostile 32768 x 32768 meta (2^20 tiles) without allocating its 12.9 GB', () => {
    // Thrown at it: one schema-valid meta of ~200 bytes announcing 32768 x 32768 pixels.
    const b = book();
    const before = process.memoryUsage().arrayBuffers;
    const r = b.add('evil/1/0', 'evil', meta(32768, 32768));
    expect(r.refused).toBe('IMAGE_TOO_LARGE');
    expect([b.openImages, b.openBytes]).toEqual([0, 0]);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 20);
  });

  it.each([
    [4097, 1, 'IMAGE_TOO_LARGE'],
    [1, 4097, 'IMAGE_TOO_LARGE'],
    [4096, 4096, undefined],
  ] as const)('holds %i x %i to the side and pixel limits: %s', (w, h, expected) => {
    expect(sizeRefusal(meta(w, h), DEFAULT_IMAGE_LIMITS)).toBe(expected);
  });

  it('refuses too many tiles and an image the device budget cannot hold at all', () => {
    expect(sizeRefusal(meta(640, 640), imageLimits({ maxTiles: 399 }))).toBe('TOO_MANY_TILES');
    expect(sizeRefusal(meta(640, 640), imageLimits({ maxOpenBytesPerDevice: imageCost(meta(640, 640)) - 1 }))).toBe('DEVICE_BUDGET');
  });

  it("pushes out the device's own oldest images, never another device's", () => {
    // Thrown at it: a flood of 100 metas from one device with room for 3 open images, while another
    // device has one image open.
    const b = book({ maxOpenImagesPerDevice: 3 });
    const other = b.add('ok/1/0', 'ok', meta(64, 64));
    const evicted: string[] = [];
    for (let i = 0; i < 100; i++) {
      const r = b.add(`evil/1/${i}`, 'evil', meta(64, 64, i));
      expect(r.refused).toBeUndefined();
      evicted.push(...(r.evicted ?? []).map((s) => s.key));
    }
    expect(evicted).toHaveLength(97);
    expect(evicted.slice(0, 2)).toEqual(['evil/1/0', 'evil/1/1']);
    expect(b.openImages).toBe(4);
    expect(b.has('ok/1/0')).toBe(true);
    expect(b.locate('ok', 1, other.state!.meta.firstFrameId)?.state).toBe(other.state);
    expect(b.locate('evil', 1, 0)).toBeUndefined();
  });

  it('evicts by bytes per device, and refuses what the cloud budget (held by others) cannot take', () => {
    const big = imageCost(meta(1024, 1024));
    const b = book({ maxOpenBytesPerDevice: 2 * big, maxOpenBytes: 3 * big });
    expect(b.add('a/1/0', 'a', meta(1024, 1024, 0)).evicted).toEqual([]);
    expect(b.add('a/1/1', 'a', meta(1024, 1024, 1)).evicted).toEqual([]);
    expect(b.add('a/1/2', 'a', meta(1024, 1024, 2)).evicted?.map((s) => s.key)).toEqual(['a/1/0']);
    expect(b.add('b/1/0', 'b', meta(1024, 1024, 0)).evicted).toEqual([]);
    // Device c: a and b hold the whole cloud budget; c may not push them out.
    expect(b.add('c/1/0', 'c', meta(1024, 1024, 0)).refused).toBe('CLOUD_BUDGET');
    // Device b may push out its own image to fit.
    expect(b.add('b/1/1', 'b', meta(1024, 1024, 1)).evicted?.map((s) => s.key)).toEqual(['b/1/0']);
    expect(b.openBytes).toBe(3 * big);
  });

  it('checks the limits it is given', () => {
    expect(() => imageLimits({ maxTiles: 0 })).toThrow(/maxTiles/);
    expect(imageLimits({ maxTiles: undefined }).maxTiles).toBe(16384);
  });
});
