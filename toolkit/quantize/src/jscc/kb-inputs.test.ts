/**
 * fillKbInputs against answers computed here by brute force on the real zoo: the 20 CIFAR-10 samples, the
 * akb-k256 set (embedder output, nearest of the 256 keys), the akb-fixed set (nearest prior in pixels), its
 * no-KB twin (the global mean); and an AKB encoder copied out of its zoo, which has no set to name it (one
 * line with the way out).
 */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadSourceKb } from '@akb/jscc';
import { cifarSamples, ZOO } from '../../../../test/quantize/images.js';
import { toRows, type RowTable } from '../report/rows.js';
import { fillKbInputs } from './kb-inputs.js';

const PRIOR = 3072;

/** The samples' images with zeroed prior and length columns, as quantize-data.ts builds them. */
function rowsWithPlaceholders(): RowTable {
  const rows = toRows(cifarSamples());
  rows.columns.set('prior', { type: 'float32', rowDims: [3, 32, 32], rowSize: PRIOR, data: new Float32Array(rows.count * PRIOR) });
  rows.columns.set('length', { type: 'float32', rowDims: [1], rowSize: 1, data: new Float32Array(rows.count) });
  return rows;
}

function nearest(values: Float32Array, offset: number, keys: Float32Array, dim: number): number {
  let best = -1;
  let bestD = Infinity;
  for (let k = 0; k * dim < keys.length; k++) {
    let d = 0;
    for (let j = 0; j < dim; j++) d += (values[offset + j]! - keys[k * dim + j]!) ** 2;
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

const priorRow = (rows: RowTable, r: number): Float32Array => (rows.columns.get('prior')!.data as Float32Array).subarray(r * PRIOR, (r + 1) * PRIOR);
const lengths = (rows: RowTable): number[] => [...(rows.columns.get('length')!.data as Float32Array)];

describe('fillKbInputs', () => {
  it('akb-k256: the prior of the key nearest to the embedding of each image; length cycles through the actions', async () => {
    const rows = rowsWithPlaceholders();
    await fillKbInputs(rows, join(ZOO, 'akb-jscc-enc', 'model.onnx'));
    const kb = await loadSourceKb(join(ZOO, 'akb-kb-k256'));
    const embedder = await ort.InferenceSession.create(join(ZOO, 'akb-embedder', 'model.onnx'));
    const images = rows.columns.get('image')!.data as Float32Array;
    const emb = (await embedder.run({ image: new ort.Tensor('float32', images, [rows.count, 3, 32, 32]) })).embedding!.data as Float32Array;
    const entries = new Set<number>();
    for (let r = 0; r < rows.count; r++) {
      const entry = nearest(emb, r * kb.dim, kb.keys, kb.dim);
      entries.add(entry);
      expect(priorRow(rows, r)).toEqual(kb.prior(entry));
    }
    expect(entries.size).toBeGreaterThan(5);
    expect(lengths(rows)).toEqual(Array.from({ length: rows.count }, (_, r) => [64, 128, 256, 384, 512][r % 5]));
  });

  it('akb-fixed: the prior of least squared error to the image; length is the latent size', async () => {
    const rows = rowsWithPlaceholders();
    await fillKbInputs(rows, join(ZOO, 'akb-fixed-enc', 'model.onnx'));
    const kb = await loadSourceKb(join(ZOO, 'akb-fixed-kb-k1024'));
    const images = rows.columns.get('image')!.data as Float32Array;
    for (let r = 0; r < rows.count; r++) expect(priorRow(rows, r)).toEqual(kb.prior(nearest(images, r * PRIOR, kb.priors, PRIOR)));
    expect(new Set(lengths(rows))).toEqual(new Set([256]));
  });

  it("akb-fixed-nokb: the KB's global mean for every image", async () => {
    const rows = rowsWithPlaceholders();
    await fillKbInputs(rows, join(ZOO, 'akb-fixed-nokb-enc', 'model.onnx'));
    const kb = await loadSourceKb(join(ZOO, 'akb-fixed-kb-k1024'));
    for (let r = 0; r < rows.count; r++) expect(priorRow(rows, r)).toEqual(kb.globalMean);
  });

  it('an AKB encoder outside its zoo: one line naming what was looked for, and the .npy way out', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'akb-kb-inputs-')), 'zoo', 'akb-jscc-enc');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(ZOO, 'akb-jscc-enc', 'model.onnx'), join(dir, 'model.onnx'));
    await expect(fillKbInputs(rowsWithPlaceholders(), join(dir, 'model.onnx'))).rejects.toThrow(/^[^\n]*takes a source-KB prior, and there is no [^\n]*sets to find its model set in$/);
  });
});
