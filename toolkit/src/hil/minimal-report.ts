/**
 * A minimal self-contained report.html, used while the full report (report/index.ts, renderHilReport) is
 * not in this build: the thresholds, the summary table (PSNR, SSIM, channel uses, completion, p95 latency
 * per variant, channel and SNR), the digital rows, and where the time went. No script, no external file.
 */
import type { HilResults } from './results.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v: number | null | undefined, d = 2): string => (v === null || v === undefined ? '–' : v.toFixed(d));

export function renderMinimalReport(r: HilResults): string {
  const rows = r.summary
    .map((s) => `<tr><td>${esc(s.variant)}</td><td>${esc(s.channel)}</td><td>${s.snrDb}</td><td>${s.n}</td><td>${num(s.psnrMean)}</td><td>${num(s.psnrStd)}</td><td>${num(s.ssimMean, 4)}</td><td>${num(s.channelUsesMean, 0)}</td><td>${num(s.completeRate)}</td><td>${num(s.latencyP95Ms.total, 1)}</td></tr>`)
    .join('\n');
  const thresholds = r.thresholds
    .map((t) => `<tr class="${t.pass ? 'pass' : 'fail'}"><td>${t.pass ? 'pass' : 'FAIL'}</td><td>${esc(t.description)}</td><td>${num(t.measured, 3)}</td></tr>`)
    .join('\n');
  const digital = r.digital.map((d) => `<tr><td>${esc(d.channel)}</td><td>${d.snrDb}</td><td>${d.channelUses}</td><td>${num(d.psnrMean)}</td><td>${num(d.ssimMean, 4)}</td><td>${d.failed}/${d.n}</td></tr>`).join('\n');
  const stages = Object.entries(r.stagesMs).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${(v / 1000).toFixed(2)} s</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.plan.name)}: akb hil</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.fail{background:#fdd}.pass{background:#dfd}</style>
</head><body>
<h1>${esc(r.plan.name)}</h1>
<p>${esc(r.plan.description ?? '')}</p>
<p>${r.passed ? 'Every threshold held.' : 'A threshold failed.'} Started ${esc(r.startedAt)}, finished ${esc(r.finishedAt)}; ${r.points.length} points.</p>
<h2>Thresholds</h2><table><tr><th>result</th><th>threshold</th><th>measured</th></tr>${thresholds}</table>
<h2>Summary</h2><table><tr><th>variant</th><th>channel</th><th>SNR dB</th><th>n</th><th>PSNR</th><th>std</th><th>SSIM</th><th>uses</th><th>complete</th><th>p95 total ms</th></tr>${rows}</table>
<h2>Digital baseline (JPEG at capacity)</h2><table><tr><th>channel</th><th>SNR dB</th><th>uses</th><th>PSNR</th><th>SSIM</th><th>failed</th></tr>${digital}</table>
<h2>Where the time went</h2><table>${stages}</table>
</body></html>
`;
}
