/**
 * The report's charts as inline SVG, drawn here (about 200 lines) rather than by a charting library, so
 * the report is one file with no script at all: it opens offline, in a mail client's viewer, or attached
 * to an issue, and nothing in it runs. Every label passes through `esc`.
 */
import { esc } from './html.js';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

export interface Series {
  /** Goes into data-series, so a test (or a person's devtools) finds the line. */
  id: string;
  label: string;
  color: string;
  dashed?: boolean;
  /** [x, y]; y null breaks the line. */
  points: [number, number | null][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Step lines (a value holds until the next point), for chosen rates over time. */
  step?: boolean;
  /** The y axis starts at 0 (for counts). */
  yFrom0?: boolean;
  width?: number;
  height?: number;
  cls?: string;
}

/** Round tick values covering [lo, hi], about `n` of them. */
export function ticks(lo: number, hi: number, n = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  // The round step whose tick count comes nearest to n.
  const count = (s: number): number => Math.floor(hi / s) - Math.ceil(lo / s) + 1;
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).reduce((best, s) => (Math.abs(count(s) - n) < Math.abs(count(best) - n) ? s : best));
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

const fmt = (v: number): string => (Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(4))));

function extent(values: number[], pad: number): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const m = (hi - lo) * pad;
  return [lo - m, hi + m];
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 520;
  const H = o.height ?? 300;
  const L = 56;
  const R = 12;
  const T = 28;
  const B = 44;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.flatMap((p) => (p[1] === null || !Number.isFinite(p[1]) ? [] : [p[1]])));
  const [x0, x1] = extent(xs, 0);
  const [y0, y1] = extent(o.yFrom0 ? [0, ...ys] : ys, 0.05);
  const X = (v: number): number => L + ((W - L - R) * (v - x0)) / (x1 - x0);
  const Y = (v: number): number => H - B - ((H - T - B) * (v - y0)) / (y1 - y0);
  const grid = [
    ...ticks(y0, y1, 5).map((v) => `<line x1="${L}" x2="${W - R}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" class="grid"/><text x="${L - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`),
    ...ticks(x0, x1, 6).map((v) => `<line x1="${X(v).toFixed(1)}" x2="${X(v).toFixed(1)}" y1="${T}" y2="${H - B}" class="grid"/><text x="${X(v).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${fmt(v)}</text>`),
  ].join('');
  const paths = o.series
    .map((s) => {
      let d = '';
      let open = false;
      for (const [x, y] of s.points) {
        if (y === null || !Number.isFinite(y)) {
          open = false;
          continue;
        }
        if (open && o.step) d += `H${X(x).toFixed(1)}`;
        d += `${open ? 'L' : 'M'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`;
        open = true;
      }
      const dots = o.step || s.points.length > 60 ? '' : s.points.flatMap(([x, y]) => (y === null || !Number.isFinite(y) ? [] : [`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${s.color}"><title>${esc(s.label)}: ${fmt(x)}, ${fmt(y)}</title></circle>`])).join('');
      return `<g class="series" data-series="${esc(s.id)}"><path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>${dots}</g>`;
    })
    .join('\n');
  return `<figure class="chart${o.cls ? ` ${esc(o.cls)}` : ''}"><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">
<text x="${W / 2}" y="16" text-anchor="middle" class="title">${esc(o.title)}</text>${grid}
<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" class="axis"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" class="axis"/>
<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>
<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>
${paths}</svg>${legend(o.series)}</figure>`;
}

export function legend(series: { label: string; color: string; dashed?: boolean }[]): string {
  const items = series.map(
    (s) => `<li><svg width="28" height="10" aria-hidden="true"><line x1="0" x2="28" y1="5" y2="5" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/></svg>${esc(s.label)}</li>`,
  );
  return `<figcaption><ul class="legend">${items.join('')}</ul></figcaption>`;
}

export interface BarRow {
  label: string;
  /** Values per key, in the order of `keys`; missing ones count as 0. */
  values: Record<string, number>;
}

/** Horizontal bars, stacked over `keys` (one colour per key), with the total at the end of each bar. */
export function stackedBars(o: { title: string; unit: string; keys: string[]; rows: BarRow[]; cls?: string; width?: number }): string {
  const W = o.width ?? 720;
  const labelW = 220;
  const rowH = 24;
  const T = 28;
  const H = T + o.rows.length * rowH + 30;
  const totals = o.rows.map((r) => o.keys.reduce((a, k) => a + (r.values[k] ?? 0), 0));
  const max = Math.max(1e-9, ...totals);
  const scale = (W - labelW - 90) / max;
  const bars = o.rows
    .map((r, i) => {
      let x = labelW;
      const y = T + i * rowH;
      const parts = o.keys
        .map((k, j) => {
          const v = r.values[k] ?? 0;
          if (!(v > 0)) return '';
          const w = v * scale;
          const rect = `<rect class="bar" data-key="${esc(k)}" x="${x.toFixed(1)}" y="${y + 3}" width="${Math.max(0.5, w).toFixed(1)}" height="${rowH - 6}" fill="${PALETTE[j % PALETTE.length]}"><title>${esc(r.label)}: ${esc(k)} ${fmt(v)} ${esc(o.unit)}</title></rect>`;
          x += w;
          return rect;
        })
        .join('');
      return `<g class="bar-row" data-label="${esc(r.label)}"><text x="${labelW - 6}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(clip(r.label, 34))}</text>${parts}<text x="${(x + 6).toFixed(1)}" y="${y + rowH / 2 + 4}">${fmt(totals[i]!)} ${esc(o.unit)}</text></g>`;
    })
    .join('\n');
  const keyLegend = o.keys.map((k, j) => ({ label: k, color: PALETTE[j % PALETTE.length]! }));
  return `<figure class="chart${o.cls ? ` ${esc(o.cls)}` : ''}"><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">
<text x="${W / 2}" y="16" text-anchor="middle" class="title">${esc(o.title)}</text>${bars}</svg>${o.keys.length > 1 ? legendBoxes(keyLegend) : ''}</figure>`;
}

function legendBoxes(items: { label: string; color: string }[]): string {
  return `<figcaption><ul class="legend">${items.map((s) => `<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="${s.color}"/></svg>${esc(s.label)}</li>`).join('')}</ul></figcaption>`;
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
