/**
 * Two HIL runs side by side (`akb hil compare a b`): the (variant, channel, SNR) rows present in both,
 * with each run's PSNR and SSIM and the difference b - a; the rows found in only one run; and an HTML page
 * with both runs' curves on one plot per channel and metric (a solid, b dashed, one colour per variant).
 */
import type { HilResults, HilSummaryRow } from './results.js';
import { esc, num, table } from './report/html.js';
import { lineChart, PALETTE, type Series } from './report/svg.js';

export interface CompareRow {
  variant: string;
  channel: string;
  snrDb: number;
  a: { psnr: number | null; ssim: number | null; n: number };
  b: { psnr: number | null; ssim: number | null; n: number };
  /** b - a; null when either side has no mean. */
  dPsnr: number | null;
  dSsim: number | null;
}

export interface OnlyRow {
  run: 'a' | 'b';
  variant: string;
  channel: string;
  snrDb: number;
}

export interface Comparison {
  a: { plan: string; sha256: string; startedAt: string; file: string };
  b: { plan: string; sha256: string; startedAt: string; file: string };
  rows: CompareRow[];
  only: OnlyRow[];
}

const key = (s: { variant: string; channel: string; snrDb: number }): string => JSON.stringify([s.variant, s.channel, s.snrDb]);
const diff = (x: number | null, y: number | null): number | null => (x === null || y === null ? null : y - x);
const order = (p: { variant: string; channel: string; snrDb: number }, q: { variant: string; channel: string; snrDb: number }): number =>
  p.variant.localeCompare(q.variant) || p.channel.localeCompare(q.channel) || p.snrDb - q.snrDb;

export function compareResults(a: HilResults, b: HilResults, files: { a: string; b: string } = { a: 'a', b: 'b' }): Comparison {
  const bBy = new Map(b.summary.map((s) => [key(s), s]));
  const aKeys = new Set(a.summary.map(key));
  const rows: CompareRow[] = [];
  const only: OnlyRow[] = [];
  for (const sa of a.summary) {
    const sb = bBy.get(key(sa));
    if (sb === undefined) {
      only.push({ run: 'a', variant: sa.variant, channel: sa.channel, snrDb: sa.snrDb });
      continue;
    }
    rows.push({
      variant: sa.variant,
      channel: sa.channel,
      snrDb: sa.snrDb,
      a: { psnr: sa.psnrMean, ssim: sa.ssimMean, n: sa.n },
      b: { psnr: sb.psnrMean, ssim: sb.ssimMean, n: sb.n },
      dPsnr: diff(sa.psnrMean, sb.psnrMean),
      dSsim: diff(sa.ssimMean, sb.ssimMean),
    });
  }
  for (const sb of b.summary) if (!aKeys.has(key(sb))) only.push({ run: 'b', variant: sb.variant, channel: sb.channel, snrDb: sb.snrDb });
  const id = (r: HilResults, file: string) => ({ plan: r.plan.name, sha256: r.plan.sha256, startedAt: r.startedAt, file });
  return { a: id(a, files.a), b: id(b, files.b), rows: rows.sort(order), only: only.sort((p, q) => p.run.localeCompare(q.run) || order(p, q)) };
}

const signed = (v: number | null, digits: number): string => (v === null ? '–' : `${v > 0 ? '+' : ''}${v.toFixed(digits)}`);

/** The terminal table: one line per row in both runs, then the rows found in one only. */
export function comparisonLines(c: Comparison): string[] {
  const head = ['variant', 'channel', 'SNR dB', 'PSNR a', 'PSNR b', 'Δ dB', 'SSIM a', 'SSIM b', 'Δ SSIM'];
  const body = c.rows.map((r) => [r.variant, r.channel, num(r.snrDb, 1), num(r.a.psnr), num(r.b.psnr), signed(r.dPsnr, 2), num(r.a.ssim, 4), num(r.b.ssim, 4), signed(r.dSsim, 4)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [`a: ${c.a.file} (${c.a.plan}, ${c.a.startedAt})`, `b: ${c.b.file} (${c.b.plan}, ${c.b.startedAt})`, ''];
  out.push(c.rows.length === 0 ? 'no (variant, channel, SNR) row is in both runs' : line(head), ...body.map(line));
  const ds = c.rows.flatMap((r) => (r.dPsnr === null ? [] : [r.dPsnr]));
  if (ds.length > 0) out.push('', `${c.rows.length} rows in both; PSNR b - a: mean ${signed(ds.reduce((x, y) => x + y, 0) / ds.length, 2)} dB, from ${signed(Math.min(...ds), 2)} to ${signed(Math.max(...ds), 2)} dB`);
  for (const run of ['a', 'b'] as const) {
    const mine = c.only.filter((o) => o.run === run);
    if (mine.length > 0) out.push(`only in ${run} (${mine.length}): ${mine.map((o) => `${o.variant}/${o.channel}/${o.snrDb} dB`).join(', ')}`);
  }
  return out;
}

/** One self-contained page: both runs' curves per channel and metric, and the table. */
export function renderComparison(c: Comparison, a: HilResults, b: HilResults): string {
  const variants = [...new Set([...a.variants.map((v) => v.id), ...b.variants.map((v) => v.id)])];
  const label = (id: string): string => (a.variants.find((v) => v.id === id) ?? b.variants.find((v) => v.id === id))?.label || id;
  const channels = [...new Set([...a.channels.map((x) => x.id), ...b.channels.map((x) => x.id)])];
  const curve = (rows: HilSummaryRow[], v: string, ch: string, metric: 'psnr' | 'ssim'): [number, number | null][] =>
    rows.filter((s) => s.variant === v && s.channel === ch).sort((p, q) => p.snrDb - q.snrDb).map((s) => [s.snrDb, metric === 'psnr' ? s.psnrMean : s.ssimMean]);
  const charts: string[] = [];
  for (const ch of channels) {
    for (const metric of ['psnr', 'ssim'] as const) {
      const series: Series[] = variants.flatMap((v, i) => [
        { id: `a:${v}`, label: `a: ${label(v)}`, color: PALETTE[i % PALETTE.length]!, points: curve(a.summary, v, ch, metric) },
        { id: `b:${v}`, label: `b: ${label(v)}`, color: PALETTE[i % PALETTE.length]!, dashed: true, points: curve(b.summary, v, ch, metric) },
      ]).filter((s) => s.points.length > 0);
      const chart = lineChart({ title: `${metric.toUpperCase()} against SNR, ${ch}: a solid, b dashed`, xLabel: 'SNR (dB)', yLabel: metric === 'psnr' ? 'PSNR (dB)' : 'SSIM', series });
      charts.push(`<div class="chart-box" data-channel="${esc(ch)}" data-metric="${metric}">${chart}</div>`);
    }
  }
  const rows = c.rows.map((r) => [esc(r.variant), esc(r.channel), num(r.snrDb, 1), num(r.a.psnr), num(r.b.psnr), signed(r.dPsnr, 2), num(r.a.ssim, 4), num(r.b.ssim, 4), signed(r.dSsim, 4)]);
  const only = c.only.map((o) => [o.run, esc(o.variant), esc(o.channel), num(o.snrDb, 1)]);
  const run = (x: Comparison['a'], n: string): string => `<li><b>${n}</b>: <code>${esc(x.file)}</code>, plan ${esc(x.plan)} <code>${esc(x.sha256.slice(0, 12))}</code>, ${esc(x.startedAt)}</li>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>HIL comparison</title><style>body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
.charts{display:flex;flex-wrap:wrap;gap:1em} .chart-box{width:540px} figure{margin:0} svg{background:#fcfcfc;border:1px solid #e4e4e4} svg text{font-size:11px;fill:#333}
svg .title{font-size:13px;font-weight:600} svg .grid{stroke:#eee} svg .axis{stroke:#888}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1.2em;font-size:12px} ul.legend svg{border:0;background:none;margin-right:4px}
table{border-collapse:collapse} th,td{padding:2px 10px;text-align:right;border-bottom:1px solid #eee} td:nth-child(-n+2){text-align:left}</style></head><body>
<h1>HIL comparison</h1><ul id="runs">${run(c.a, 'a')}${run(c.b, 'b')}</ul>
<div class="charts">${charts.join('\n')}</div>
<h2>Rows in both runs (Δ = b - a)</h2>${table(['variant', 'channel', 'SNR dB', 'PSNR a', 'PSNR b', 'Δ dB', 'SSIM a', 'SSIM b', 'Δ SSIM'], rows, ' id="both"')}
<h2>Rows in one run only</h2>${only.length === 0 ? '<p>None.</p>' : table(['run', 'variant', 'channel', 'SNR dB'], only, ' id="only"')}
</body></html>
`;
}
