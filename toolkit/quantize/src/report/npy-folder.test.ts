import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpyFolder } from './npy-folder.js';
import { batchOf } from './rows.js';

/** .npy version 1.0 bytes of little-endian float32 values. */
function npy(shape: number[], values: ArrayLike<number>, opts: { descr?: string; bytesPer?: number } = {}): Uint8Array {
  const dict = `{'descr': '${opts.descr ?? '<f4'}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = `${dict}${' '.repeat(pad % 64)}\n`;
  const bytesPer = opts.bytesPer ?? 4;
  const out = new Uint8Array(10 + header.length + values.length * bytesPer);
  out.set([0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0)), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Array.from(header, (c) => c.charCodeAt(0)), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < values.length; i++) {
    if (bytesPer === 8) view.setFloat64(i * 8, values[i]!, true);
    else view.setFloat32(i * 4, values[i]!, true);
  }
  return out;
}

describe('.npy folders', () => {
  it('reads rows of several inputs that vary together (float64 and float32 files)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-npy-'));
    writeFileSync(join(dir, 'latent.npy'), npy([3, 4], Array.from({ length: 12 }, (_, i) => i), { descr: '<f8', bytesPer: 8 }));
    writeFileSync(join(dir, 'snr_db.npy'), npy([3, 1], [1, 7, 13]));
    const rows = await readNpyFolder(dir, new Map<string, (number | string)[]>([['latent', [4]], ['snr_db', [1]]]), { limit: 2 });
    expect(rows.count).toBe(2);
    const feeds = batchOf(rows, 1, 1);
    expect(Array.from(feeds.latent!.data as Float32Array)).toEqual([4, 5, 6, 7]);
    expect(Array.from(feeds.snr_db!.data as Float32Array)).toEqual([7]);
  });

  it('refuses a folder whose arrays do not fit the model: wrong row shape, missing input, unequal row counts', async () => {
    // Thrown at it: image rows of 3x16x16 for a 3x32x32 input; a folder without the second input; 3 rows vs 2.
    const dir = mkdtempSync(join(tmpdir(), 'akb-npy-bad-'));
    writeFileSync(join(dir, 'image.npy'), npy([2, 3, 16, 16], new Float32Array(2 * 768)));
    await expect(readNpyFolder(dir, new Map([['image', [3, 32, 32]]]))).rejects.toThrow(/image\.npy has rows of shape \[3, 16, 16\]; input "image" takes \[3, 32, 32\]$/);
    await expect(readNpyFolder(dir, new Map<string, (number | string)[]>([['image', [3, 16, 16]], ['snr_db', [1]]]))).rejects.toThrow(/has no snr_db\.npy \(the model's inputs: image, snr_db\)$/);
    writeFileSync(join(dir, 'snr_db.npy'), npy([3, 1], [1, 2, 3]));
    await expect(readNpyFolder(dir, new Map<string, (number | string)[]>([['image', [3, 16, 16]], ['snr_db', [1]]]))).rejects.toThrow(/snr_db\.npy has 3 rows; the other inputs have 2$/);
  });
});
