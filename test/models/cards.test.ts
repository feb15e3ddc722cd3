/**
 * Every quality point in every zoo card names the bandwidth ratio it was measured at. The truth is the
 * evaluation record the point came from (models/eval/results/jscc_grid.json: one record per model, K,
 * channel uses, SNR, channel and test set, with its `cbr` and `channel_uses`): each card point is matched
 * to its record by model, SNR, channel, test set and measured value, and its `bandwidthRatio` must equal
 * the record's. A rate-agile model (AKB-JSCC, measured at 256 and 512 uses) once had every point
 * labelled with its first supported ratio, 1/48.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const models = fileURLToPath(new URL('../../models/', import.meta.url));
const zoo = join(models, 'zoo');

interface GridRecord {
  model: string;
  family: string;
  K?: number;
  selection?: string;
  cbr: string;
  channel_uses: number;
  test_snr: number;
  channel: string;
  dataset: string;
  psnr: number;
  ssim: number;
}
interface Point {
  metric: string;
  snr: number;
  channel: string;
  value: number;
  bandwidthRatio?: number;
  dataset?: string;
}
interface Card {
  name: string;
  bandwidthRatios: number[];
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: { name: string; shape: (number | string)[] }[];
  quality: Point[];
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

const grid = (await readJson<{ records: GridRecord[] }>(join(models, 'eval', 'results', 'jscc_grid.json'))).records;

const cards: { card: Card; exported: Record<string, unknown> }[] = [];
for (const name of (await readdir(zoo)).sort()) {
  const files = await readdir(join(zoo, name));
  if (!files.includes('card.json')) continue;
  cards.push({
    card: await readJson<Card>(join(zoo, name, 'card.json')),
    exported: files.includes('export.json') ? await readJson(join(zoo, name, 'export.json')) : {},
  });
}

/** The evaluation's name for a zoo model: the pair's shared name; the AKB-JSCC pair is `akb` there. */
function evalModel(name: string): string {
  const base = name.replace(/-(enc|dec)$/, '');
  return base === 'akb-jscc' ? 'akb' : base;
}

/** "1/12" -> 1/12 */
function fraction(s: string): number {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) throw new Error(`not a fraction: ${s}`);
  return Number(m[1]) / Number(m[2]);
}

/** n of k/n: real values in one source image, from the card's image tensor. */
function sourceSize(card: Card): number {
  const image = [...card.inputs, ...card.outputs].find((t) => t.name === 'image');
  if (!image) throw new Error(`${card.name}: no image tensor`);
  return image.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1);
}

describe('model cards: quality points at the bandwidth ratio they were measured at', () => {
  it('reads the cards and the evaluation record', () => {
    expect(cards.length).toBeGreaterThanOrEqual(29);
    expect(grid.length).toBeGreaterThan(0);
  });

  for (const { card, exported } of cards) {
    it(`${card.name}: every quality point's bandwidthRatio is its evaluation record's`, () => {
      if (card.quality.length === 0) return;
      const model = evalModel(card.name);
      const kb = typeof exported.kb === 'string' ? /k(\d+)$/.exec(exported.kb) : null;
      const K = kb ? Number(kb[1]) : undefined;
      const records = grid.filter(
        (r) => r.model === model && (r.selection ?? 'embedder') === 'embedder' && (K === undefined || r.K === K),
      );
      expect(records.length, `${model} in jscc_grid.json`).toBeGreaterThan(0);
      const n = sourceSize(card);
      const wrong: string[] = [];
      for (const p of card.quality) {
        const metric = p.metric as 'psnr' | 'ssim';
        const from = records.filter(
          (r) => r.test_snr === p.snr && r.channel === p.channel && r.dataset === p.dataset && r[metric] === p.value,
        );
        // The point comes from exactly one record.
        expect(from.length, `${p.metric} ${p.value} at ${p.snr} dB ${p.channel} ${p.dataset}: records`).toBe(1);
        const r = from[0]!;
        // The record agrees with itself: its cbr is its channel uses over the source size.
        expect(r.channel_uses / n).toBeCloseTo(fraction(r.cbr), 12);
        const truth = fraction(r.cbr);
        if (p.bandwidthRatio === undefined || Math.abs(p.bandwidthRatio - truth) > 1e-12) {
          wrong.push(`${p.metric} ${p.value} at ${p.snr} dB (${r.channel_uses} uses, ${r.cbr}) labelled ${p.bandwidthRatio}`);
        }
        // And it is one of the ratios the card says the model supports.
        expect(card.bandwidthRatios.some((x) => Math.abs(x - truth) < 1e-12)).toBe(true);
      }
      expect(wrong, `${wrong.length} of ${card.quality.length} points`).toEqual([]);
    });
  }

  it('a multi-rate card has quality points at two different ratios', () => {
    const multiRate = cards.filter(({ card }) => card.bandwidthRatios.length >= 2 && card.quality.length > 0);
    expect(multiRate.length).toBeGreaterThanOrEqual(1);
    const spread = multiRate.filter(({ card }) => new Set(card.quality.map((p) => p.bandwidthRatio)).size >= 2);
    expect(spread.map(({ card }) => card.name)).not.toEqual([]);
  });
});
