import { describe, expect, it } from 'vitest';
import { decodeImage, encodePng, type RgbImage } from './codec.js';
import { psnr } from '../metrics/psnr.js';
import { extractTile, placeTile, tileCount, tileGrid } from './tiles.js';

function gradient(width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    data[i] = (i % width) / width;
    data[n + i] = Math.floor(i / width) / height;
    data[2 * n + i] = ((i * 7) % 255) / 255;
  }
  return { width, height, data };
}

describe('image codec', () => {
  it('round-trips PNG to 8-bit precision', async () => {
    const img = gradient(37, 21);
    const back = await decodeImage(await encodePng(img));
    expect([back.width, back.height]).toEqual([37, 21]);
    expect(psnr(img.data, back.data)).toBeGreaterThan(50);
  });

  it('decodes a grayscale PNG to three equal channels', async () => {
    const { PNG } = await import('pngjs');
    const png = new PNG({ width: 4, height: 2, colorType: 0, inputColorType: 0, inputHasAlpha: false } as never);
    const gray = Buffer.from([0, 32, 64, 96, 128, 160, 192, 255]);
    const bytes = PNG.sync.write(Object.assign(png, { data: gray }), { colorType: 0, inputColorType: 0, inputHasAlpha: false });
    const img = await decodeImage(bytes);
    expect(Array.from(img.data.subarray(0, 8))).toEqual(Array.from(img.data.subarray(8, 16)));
    expect(img.data[7]).toBe(1);
  });

  it('decodes a JPEG', async () => {
    const jpeg = await import('jpeg-js');
    const rgba = Buffer.alloc(16 * 8 * 4, 200);
    const { data } = jpeg.encode({ data: rgba, width: 16, height: 8 }, 95);
    const img = await decodeImage(data);
    expect([img.width, img.height]).toEqual([16, 8]);
    expect(img.data[0]).toBeCloseTo(200 / 255, 1);
  });

  it('refuses what is not an image, and a truncated PNG, with a typed error', async () => {
    // Thrown at it: random bytes, and a valid PNG cut in half.
    await expect(decodeImage(new Uint8Array([1, 2, 3, 4]))).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    const png = await encodePng(gradient(64, 64));
    await expect(decodeImage(png.subarray(0, png.length >> 1))).rejects.toMatchObject({ code: 'BAD_IMAGE' });
  });
});

describe('tiles', () => {
  it('cuts an odd-sized image into padded tiles and reassembles it exactly', () => {
    const img = gradient(70, 45);
    const grid = tileGrid(img.width, img.height, 32);
    expect(tileCount(grid)).toBe(3 * 2);
    const out = { width: 70, height: 45, data: new Float32Array(img.data.length) };
    for (let i = 0; i < tileCount(grid); i++) placeTile(out, grid, i, extractTile(img, grid, i));
    expect(Array.from(out.data)).toEqual(Array.from(img.data));
  });
});
