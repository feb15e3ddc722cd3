/**
 * The report folder: results.json (the contract, results.ts), points.csv and summary.csv (one row per
 * point and per summary row, RFC 4180 quoting), and report.html (report/index.ts when present).
 */
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { HilPoint, HilResults, HilSummaryRow, StageTimes } from './results.js';

const STAGES = ['encode', 'policy', 'send', 'channel', 'decode', 'total'] as const;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

const stageCells = (t: StageTimes): unknown[] => STAGES.map((s) => t[s]);

export function pointsCsv(points: readonly HilPoint[]): string {
  return csv(
    ['variant', 'channel', 'snr_db', 'rep', 'image', 'psnr', 'ssim', 'channel_uses', 'tiles', 'tiles_decoded', 'complete', 'actions', ...STAGES.map((s) => `${s}_ms`)],
    points.map((p) => [
      p.variant, p.channel, p.snrDb, p.rep, p.image, p.psnr, p.ssim, p.channelUses, p.tiles, p.tilesDecoded, p.complete,
      Object.entries(p.actions).map(([a, n]) => `${a}:${n}`).join(' '), ...stageCells(p.latencyMs),
    ]),
  );
}

export function summaryCsv(rows: readonly HilSummaryRow[]): string {
  return csv(
    ['variant', 'channel', 'snr_db', 'n', 'psnr_mean', 'psnr_std', 'ssim_mean', 'channel_uses_mean', 'complete_rate', ...STAGES.map((s) => `${s}_p50_ms`), ...STAGES.map((s) => `${s}_p95_ms`)],
    rows.map((r) => [r.variant, r.channel, r.snrDb, r.n, r.psnrMean, r.psnrStd, r.ssimMean, r.channelUsesMean, r.completeRate, ...stageCells(r.latencyP50Ms), ...stageCells(r.latencyP95Ms)]),
  );
}

/** Writes a file whole or not at all. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export async function writeTables(folder: string, results: HilResults): Promise<string[]> {
  await mkdir(folder, { recursive: true });
  const files = [join(folder, 'results.json'), join(folder, 'points.csv'), join(folder, 'summary.csv')];
  await writeAtomic(files[0]!, `${JSON.stringify(results, null, 1)}\n`);
  await writeAtomic(files[1]!, pointsCsv(results.points));
  await writeAtomic(files[2]!, summaryCsv(results.summary));
  return files;
}
