/**
 * The demo's HTML report: one self-contained file (images inlined as PNG data URLs, charts as inline SVG),
 * so it opens anywhere and can be attached to an issue. Reconstructions beside originals, and PSNR, SNR
 * and the chosen actions over time.
 */
import { encodePng, type RgbImage } from '@akb/jscc';

export interface ReportImage {
  name: string;
  original: RgbImage;
  reconstruction: RgbImage;
  psnr: number | undefined;
  tiles: number;
  channelUses: number;
}

export interface ReportPoint {
  /** Seconds since the demo started. */
  t: number;
  snrDb: number;
  psnr: number | undefined;
  action: string;
}

export interface ReportInput {
  title: string;
  subtitle: string;
  images: ReportImage[];
  timeline: ReportPoint[];
  summary: Record<string, string | number>;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function dataUrl(image: RgbImage): Promise<string> {
  return `data:image/png;base64,${Buffer.from(await encodePng(image)).toString('base64')}`;
}

export async function renderReport(input: ReportInput): Promise<string> {
  const cards: string[] = [];
  for (const im of input.images) {
    const scale = im.original.width <= 64 ? 4 : 1;
    const w = Math.min(im.original.width * scale, 384);
    cards.push(`<figure class="pair" data-name="${esc(im.name)}">
  <div><img alt="original ${esc(im.name)}" width="${w}" src="${await dataUrl(im.original)}"><img alt="reconstruction ${esc(im.name)}" width="${w}" src="${await dataUrl(im.reconstruction)}"></div>
  <figcaption>${esc(im.name)}: ${im.psnr === undefined ? 'no reference' : `${im.psnr.toFixed(2)} dB PSNR`}, ${im.tiles} tile${im.tiles === 1 ? '' : 's'}, ${im.channelUses} channel uses</figcaption>
</figure>`);
  }
  const rows = Object.entries(input.summary)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em;margin-bottom:0} .sub{color:#666;margin-top:.2em}
.grid{display:flex;flex-wrap:wrap;gap:1em} figure.pair{margin:0} figure.pair img{image-rendering:pixelated;margin-right:2px;border:1px solid #ccc}
figcaption{font-size:12px;color:#444} table{border-collapse:collapse} th,td{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}
svg{background:#fafafa;border:1px solid #ddd}
</style></head><body>
<h1>${esc(input.title)}</h1><p class="sub">${esc(input.subtitle)}</p>
<h2>Summary</h2><table id="summary">${rows}</table>
<h2>PSNR, SNR and actions over time</h2>${chart(input.timeline)}
<h2>Reconstructions (left: original, right: received)</h2><div class="grid">${cards.join('\n')}</div>
</body></html>
`;
}

function chart(points: ReportPoint[]): string {
  const W = 900;
  const H = 260;
  const pad = 40;
  if (points.length === 0) return '<p>No frames.</p>';
  const tMax = Math.max(1e-3, ...points.map((p) => p.t));
  const yMin = Math.min(-5, ...points.map((p) => p.snrDb));
  const yMax = Math.max(35, ...points.map((p) => p.psnr ?? 0));
  const x = (t: number): number => pad + ((W - 2 * pad) * t) / tMax;
  const y = (v: number): number => H - pad - ((H - 2 * pad) * (v - yMin)) / (yMax - yMin);
  const line = (vals: [number, number][], color: string, id: string): string =>
    `<polyline id="${id}" fill="none" stroke="${color}" stroke-width="1.5" points="${vals.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`;
  const snr = line(points.map((p) => [p.t, p.snrDb]), '#1f77b4', 'snr');
  const psnr = line(points.filter((p) => p.psnr !== undefined).map((p) => [p.t, p.psnr!]), '#d62728', 'psnr');
  const ticks = [0, 10, 20, 30].filter((v) => v >= yMin && v <= yMax)
    .map((v) => `<line x1="${pad}" x2="${W - pad}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="4" y="${y(v) + 4}" font-size="11">${v} dB</text>`)
    .join('');
  return `<svg width="${W}" height="${H}" role="img" aria-label="PSNR and SNR over time">${ticks}${snr}${psnr}
<text x="${W - pad - 180}" y="16" font-size="12" fill="#1f77b4">channel SNR (dB)</text><text x="${W - pad - 60}" y="16" font-size="12" fill="#d62728">PSNR (dB)</text>
<text x="${pad}" y="${H - 8}" font-size="11">0 s</text><text x="${W - pad - 30}" y="${H - 8}" font-size="11">${tMax.toFixed(1)} s</text>
<desc>${points.length} frames</desc></svg>`;
}
