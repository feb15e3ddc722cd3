/**
 * JPEG colour as libjpeg-turbo makes it: the CIFAR-10 samples against PIL's decode of the same files
 * (models/fixtures/samples_pil_rgb.u8, written by models/eval/loop_reference.py), and the upsampling
 * rules on small planes worked by hand.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage } from './codec.js';
import { fancyUpsample, jpegLayout } from './jpeg.js';

const models = fileURLToPath(new URL('../../../models/', import.meta.url));
const samples = `${models}samples/cifar10-test`;

function levelsOff(a: Float32Array, pil: Uint8Array): { max: number; mean: number } {
  const n = 32 * 32;
  let max = 0;
  let sum = 0;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const d = Math.abs(Math.round(a[c * n + i]! * 255) - pil[3 * i + c]!);
      max = Math.max(max, d);
      sum += d;
    }
  }
  return { max, mean: sum / (3 * n) };
}

describe('JPEG decoding', () => {
  it('matches libjpeg-turbo (PIL) on the CIFAR-10 samples within IDCT rounding; plain jpeg-js does not', async () => {
    const files = readdirSync(samples).filter((f) => f.endsWith('.jpg')).sort();
    const pil = readFileSync(`${models}fixtures/samples_pil_rgb.u8`);
    expect(pil.length).toBe(files.length * 3072);
    let ours = 0;
    let plain = 0;
    for (let k = 0; k < files.length; k++) {
      const bytes = readFileSync(`${samples}/${files[k]}`);
      expect(jpegLayout(bytes)?.components.map((c) => [c.h, c.v])).toEqual([[2, 2], [1, 1], [1, 1]]);
      const ref = pil.subarray(k * 3072, (k + 1) * 3072);
      const mine = levelsOff((await decodeImage(bytes)).data, ref);
      expect(mine.max, files[k]).toBeLessThanOrEqual(3);
      ours += mine.mean;
      const rgba = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
      const planar = new Float32Array(3072);
      for (let i = 0; i < 1024; i++) for (let c = 0; c < 3; c++) planar[c * 1024 + i] = rgba.data[3 * i + c]! / 255;
      plain += levelsOff(planar, ref).mean;
    }
    expect(ours / files.length).toBeLessThan(0.3);
    expect(plain / files.length).toBeGreaterThan(1); // what the edge fed the models before
  });

  it('upsamples h2v2 chroma with the triangle filter, replicated edges and odd sizes', () => {
    // Native 2 x 2 chroma [[0, 64], [128, 255]] replicated to 3 x 3 (odd: the last column and row are half blocks).
    const plane = Uint8Array.from([0, 0, 64, 0, 0, 64, 128, 128, 255]);
    fancyUpsample(plane, 3, 3, true);
    // Row 0 (upper of pair 0: blends with row 0 itself): colsum = [0, 256]; row 1 (lower: with row 1): [128, 447].
    expect([...plane.subarray(0, 3)]).toEqual([(0 * 4 + 8) >> 4, (0 * 3 + 256 + 7) >> 4, (256 * 3 + 0 + 8) >> 4]);
    expect([...plane.subarray(3, 6)]).toEqual([(128 * 4 + 8) >> 4, (128 * 3 + 447 + 7) >> 4, (447 * 3 + 128 + 8) >> 4]);
    // Row 2 (upper of pair 1: with row 0 above): colsum = [384, 829].
    expect([...plane.subarray(6, 9)]).toEqual([(384 * 4 + 8) >> 4, (384 * 3 + 829 + 7) >> 4, (829 * 3 + 384 + 8) >> 4]);
  });

  it('upsamples h2v1 chroma, keeping the end samples', () => {
    const row = Uint8Array.from([10, 10, 50, 50, 90, 90]);
    fancyUpsample(row, 6, 1, false);
    expect([...row]).toEqual([10, (30 + 50 + 2) >> 2, (150 + 10 + 1) >> 2, (150 + 90 + 2) >> 2, (270 + 50 + 1) >> 2, 90]);
  });

  it('reads no layout from what is not a JPEG frame, and still refuses corrupt bytes', async () => {
    // Thrown at it: a header cut before the frame, a marker run into garbage, a scan before any frame header.
    const bytes = readFileSync(`${samples}/00000-airplane.jpg`);
    expect(jpegLayout(bytes.subarray(0, 20))).toBeUndefined();
    expect(jpegLayout(Uint8Array.from([0xff, 0xd8, 0x12, 0x34, 0x00]))).toBeUndefined();
    expect(jpegLayout(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]))).toBeUndefined();
    await expect(decodeImage(bytes.subarray(0, bytes.length >> 1), 'half.jpg')).rejects.toMatchObject({ code: 'BAD_IMAGE' });
  });
});
