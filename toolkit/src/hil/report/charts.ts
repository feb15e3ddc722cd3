/**
 * The report's figures from a results file: quality against SNR (one chart per channel and metric, a line
 * per variant, the digital baseline dashed), rate and power chosen over time, latency per stage and wall
 * time by stage.
 */
import type { HilResults, HilVariant, StageTimes } from '../results.js';
import { esc } from './html.js';
import { lineChart, PALETTE, stackedBars, type Series } from './svg.js';

/** Most points drawn per timeline series; longer ones are thinned evenly (the JSON keeps them all). */
export const MAX_TIMELINE_POINTS = 1500;
const STAGES = ['encode', 'policy', 'send', 'channel', 'decode'] as const;

export const variantName = (v: HilVariant): string => (v.label.trim() === '' ? v.id : v.label);
export const variantColor = (r: HilResults, id: string): string => PALETTE[Math.max(0, r.variants.findIndex((v) => v.id === id)) % PALETTE.length]!;

export function qualityCharts(r: HilResults): string {
  const out: string[] = [];
  for (const ch of r.channels) {
    for (const metric of ['psnr', 'ssim'] as const) {
      const series: Series[] = r.variants.map((v) => ({
        id: v.id,
        label: variantName(v),
        color: variantColor(r, v.id),
        points: r.summary
          .filter((s) => s.variant === v.id && s.channel === ch.id)
          .sort((a, b) => a.snrDb - b.snrDb)
          .map((s) => [s.snrDb, metric === 'psnr' ? s.psnrMean : s.ssimMean]),
      }));
      const digital = r.digital.filter((d) => d.channel === ch.id).sort((a, b) => a.snrDb - b.snrDb);
      // One dashed line per channel-use budget (variants of different rates each have their own baseline).
      const budgets = [...new Set(digital.map((d) => d.channelUses))].sort((a, b) => a - b);
      for (const [i, uses] of budgets.entries()) {
        series.push({
          id: budgets.length === 1 ? 'digital' : `digital-${uses}`,
          label: `digital: JPEG at capacity, ${uses} uses`,
          color: ['#444', '#999', '#bbb'][i % 3]!,
          dashed: true,
          points: digital.filter((d) => d.channelUses === uses).map((d) => [d.snrDb, metric === 'psnr' ? d.psnrMean : d.ssimMean]),
        });
      }
      const title = `${metric.toUpperCase()} against SNR, ${ch.label.trim() === '' ? ch.id : ch.label}`;
      out.push(`<div class="chart-box" data-channel="${esc(ch.id)}" data-metric="${metric}">${lineChart({ title, xLabel: 'SNR (dB)', yLabel: metric === 'psnr' ? 'PSNR (dB)' : 'SSIM', series, cls: 'quality' })}</div>`);
    }
  }
  return out.length === 0 ? '<p>No channels in the results.</p>' : `<div class="charts">${out.join('\n')}</div>`;
}

function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const step = xs.length / max;
  return Array.from({ length: max }, (_, i) => xs[Math.floor(i * step)]!);
}

export function timelineCharts(r: HilResults): string {
  if (r.timeline.length === 0) return '<p>The run recorded no timeline.</p>';
  const out: string[] = [];
  for (const ch of r.channels) {
    const rows = r.timeline.filter((p) => p.channel === ch.id);
    if (rows.length === 0) continue;
    const per = r.variants.map((v) => ({ v, pts: thin(rows.filter((p) => p.variant === v.id).sort((a, b) => a.t - b.t), MAX_TIMELINE_POINTS) })).filter((x) => x.pts.length > 0);
    const name = ch.label.trim() === '' ? ch.id : ch.label;
    const rate: Series[] = per.map(({ v, pts }) => ({ id: v.id, label: variantName(v), color: variantColor(r, v.id), points: pts.map((p) => [p.t, p.channelUses]) }));
    const power: Series[] = per.map(({ v, pts }) => ({ id: v.id, label: `${variantName(v)}: power`, color: variantColor(r, v.id), points: pts.map((p) => [p.t, p.powerDb]) }));
    const snr = thin(rows.slice().sort((a, b) => a.t - b.t), MAX_TIMELINE_POINTS);
    power.push({ id: 'snr', label: 'channel SNR applied', color: '#999', dashed: true, points: snr.map((p) => [p.t, p.snrDb]) });
    out.push(`<div class="chart-box" data-channel="${esc(ch.id)}" data-metric="rate">${lineChart({ title: `Rate chosen over time, ${name}`, xLabel: 'time (s)', yLabel: 'channel uses per image', series: rate, step: true, yFrom0: true, cls: 'timeline' })}</div>`);
    out.push(`<div class="chart-box" data-channel="${esc(ch.id)}" data-metric="power">${lineChart({ title: `Power chosen and SNR applied, ${name}`, xLabel: 'time (s)', yLabel: 'dB', series: power, step: true, cls: 'timeline' })}</div>`);
  }
  return `<div class="charts">${out.join('\n')}</div>`;
}

/** Mean over the variant's summary rows of each stage's median latency (rows without the stage left out). */
export function stageMeans(r: HilResults, variant: string): Partial<Record<keyof StageTimes, number>> {
  const rows = r.summary.filter((s) => s.variant === variant);
  const out: Partial<Record<keyof StageTimes, number>> = {};
  for (const k of [...STAGES, 'total'] as const) {
    const vals = rows.flatMap((s) => (s.latencyP50Ms[k] === undefined ? [] : [s.latencyP50Ms[k]]));
    if (vals.length > 0) out[k] = vals.reduce((a, b) => a + b, 0) / vals.length;
  }
  return out;
}

export function latencyChart(r: HilResults): string {
  const rows = r.variants.map((v) => ({ label: variantName(v), values: stageMeans(r, v.id) }));
  if (rows.every((row) => STAGES.every((k) => row.values[k] === undefined))) return '<p>No per-stage latency was measured.</p>';
  return stackedBars({ title: 'Latency per stage (median per image, mean over SNRs)', unit: 'ms', keys: [...STAGES], rows, cls: 'latency' });
}

export function wallChart(r: HilResults): string {
  // A `total` entry is the run's wall time, not a stage: it is the denominator of the shares when present.
  const entries = Object.entries(r.stagesMs).filter(([k]) => k !== 'total').sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '<p>No wall time by stage was recorded.</p>';
  const sum = entries.reduce((a, [, v]) => a + v, 0);
  const total = r.stagesMs.total ?? sum;
  const rows = entries.map(([k, v]) => ({ label: `${k} (${((100 * v) / Math.max(total, 1e-9)).toFixed(1)}%)`, values: { time: v / 1000 } }));
  const title = `Wall time by stage, summed over the run${r.stagesMs.total === undefined ? '' : ` (total ${(total / 1000).toFixed(1)} s)`}`;
  return stackedBars({ title, unit: 's', keys: ['time'], rows, cls: 'wall' });
}
