/**
 * The HIL report: one self-contained HTML file drawn from a results file (results.ts) and a few kept
 * reconstructions. No script and no network: charts are inline SVG (svg.ts), images inline PNG data URLs,
 * styles inline; so it opens offline and can be attached anywhere. Every string from the results (plan
 * and variant names, image names, findings, machine fields) is escaped and stays text.
 *
 * Order, for a reader: the verdict and the findings first, then quality against SNR (the figure the run
 * exists for), the thresholds, reconstructions, rate and power over time, latency and wall time, and last
 * the run's identity (plan, hash, machine) and every summary row.
 */
import type { HilResults } from '../results.js';
import { latencyChart, qualityCharts, timelineCharts, wallChart } from './charts.js';
import { esc } from './html.js';
import { imagesSection, type HilImageSample } from './images.js';
import { findings, identity, summaryTable, thresholds, verdict } from './sections.js';
import { linkSection, linkText } from './link.js';

export type { HilImageSample } from './images.js';
export { MAX_SAMPLES } from './images.js';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.1em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#666;margin-top:0} code{font-size:12px}
#verdict{font-size:1.2em;font-weight:600;padding:.5em .8em;border-radius:4px}
#verdict.pass,.badge.pass{background:#e3f4e1;color:#17631a} #verdict.fail,.badge.fail{background:#fbe3e1;color:#a3211a}
.badge{padding:1px 8px;border-radius:3px;font-weight:600}
#findings{background:#fff8e1;border-left:4px solid #f0b400;padding:.2em 1em;margin:1em 0}
#findings h2{border:0;margin-top:.4em} #findings li{margin:.3em 0;font-size:1.05em}
.charts{display:flex;flex-wrap:wrap;gap:1em} .chart-box{width:540px} figure.chart{margin:0} svg{background:#fcfcfc;border:1px solid #e4e4e4}
svg text{font-size:11px;fill:#333} svg .title{font-size:13px;font-weight:600} svg .grid{stroke:#eee} svg .axis{stroke:#888}
ul.legend{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:.3em 1.2em;font-size:12px}
ul.legend svg{border:0;background:none;margin-right:4px;vertical-align:middle}
.pairs{display:flex;flex-wrap:wrap;gap:1em} figure.pair{margin:0} figure.pair img{image-rendering:pixelated;margin-right:2px;border:1px solid #ccc}
figure.pair figcaption{font-size:12px;color:#444}
table{border-collapse:collapse;margin:.5em 0} th,td{padding:2px 10px;text-align:left;border-bottom:1px solid #eee;vertical-align:top}
.two{display:flex;flex-wrap:wrap;gap:2em} .note{color:#666}`;

export async function renderHilReport(results: HilResults, samples: readonly HilImageSample[] = []): Promise<string> {
  const r = results;
  const title = `HIL report: ${r.plan.name}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${esc(title)}</title><style>${STYLE}</style></head><body>
<h1>${esc(r.plan.name)}</h1>
<p class="sub">akb hil report · ${r.plan.description ? `${esc(r.plan.description)} · ` : ''}plan <code>${esc(r.plan.sha256.slice(0, 12))}</code> · <span id="link-used">${esc(linkText(r))}</span> · ${esc(r.startedAt)} · ${esc(String(r.machine.host ?? r.machine.hostname ?? ''))}</p>
${verdict(r)}
${findings(r)}
<h2>Quality against SNR</h2>
<p class="note">Mean over images and repetitions; the dashed line is the digital baseline (JPEG at the largest quality that fits the Shannon capacity at the same channel uses; grey when nothing fits).</p>
${qualityCharts(r)}
<h2>Thresholds</h2>${thresholds(r)}
<h2>Reconstructions</h2>${await imagesSection(r, samples)}
<h2>Rate and power chosen over time</h2>${timelineCharts(r)}
<h2>Latency per stage</h2>${latencyChart(r)}
<h2>Where the wall time went</h2>${wallChart(r)}
${linkSection(r)}
<h2>The run</h2>${identity(r)}
<h2>Summary</h2>${summaryTable(r)}
</body></html>
`;
}
