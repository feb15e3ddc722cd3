/** The report's text sections: the verdict and findings, thresholds, the run's identity, the summary table. */
import type { HilResults } from '../results.js';
import { variantName } from './charts.js';
import { esc, num, table } from './html.js';

export function verdict(r: HilResults): string {
  const failed = r.thresholds.filter((t) => !t.pass).length;
  const text = r.thresholds.length === 0 ? 'no thresholds in the plan' : r.passed ? `all ${r.thresholds.length} thresholds held` : `${failed} of ${r.thresholds.length} thresholds failed`;
  return `<p id="verdict" class="${r.passed ? 'pass' : 'fail'}">${r.passed ? 'PASSED' : 'FAILED'}: ${esc(text)}</p>`;
}

export function findings(r: HilResults): string {
  if (r.findings.length === 0) return '';
  return `<section id="findings"><h2>Findings</h2><ul>${r.findings.map((f) => `<li>${esc(f)}</li>`).join('')}</ul></section>`;
}

export function thresholds(r: HilResults): string {
  if (r.thresholds.length === 0) return '<p>The plan sets no thresholds.</p>';
  const rows = r.thresholds.map((t) => [
    esc(t.description),
    `${esc(t.metric)} ${esc(t.op)} ${esc(String(t.value))}`,
    num(t.measured, 3),
    `<span class="badge ${t.pass ? 'pass' : 'fail'}">${t.pass ? 'pass' : 'fail'}</span>`,
  ]);
  return table(['threshold', 'condition', 'measured', 'result'], rows, ' id="thresholds"');
}

export function identity(r: HilResults): string {
  const machine = Object.entries(r.machine).map(([k, v]) => [esc(k), esc(String(v))]);
  const run = [
    ['plan', esc(r.plan.name)],
    ['plan file', `<code>${esc(r.plan.file)}</code>`],
    ['plan SHA-256', `<code id="plan-hash">${esc(r.plan.sha256)}</code>`],
    ['started', esc(r.startedAt)],
    ['finished', esc(r.finishedAt)],
    ['points', String(r.points.length)],
    ['SNRs (dB)', esc(r.snrsDb.join(', '))],
  ];
  const variants = r.variants.map((v) => [esc(v.id), esc(variantName(v)), esc(v.set), esc(v.precision), esc(v.kb), esc(v.policy), esc(v.target)]);
  const channels = r.channels.map((c) => [esc(c.id), esc(c.label), esc(c.kind)]);
  return `<div class="two">${table(['run', ''], run, ' id="run"')}${table(['machine', ''], machine, ' id="machine"')}</div>
<h3>Variants</h3>${table(['id', 'label', 'model set', 'precision', 'source KB', 'policy', 'target'], variants, ' id="variants"')}
<h3>Channels</h3>${table(['id', 'label', 'model'], channels, ' id="channels"')}`;
}

export function summaryTable(r: HilResults): string {
  const name = new Map(r.variants.map((v) => [v.id, variantName(v)]));
  const rows = r.summary
    .slice()
    .sort((a, b) => a.channel.localeCompare(b.channel) || a.variant.localeCompare(b.variant) || a.snrDb - b.snrDb)
    .map((s) => [
      esc(name.get(s.variant) ?? s.variant),
      esc(s.channel),
      num(s.snrDb, 1),
      String(s.n),
      num(s.psnrMean),
      num(s.psnrStd),
      num(s.ssimMean, 4),
      num(s.channelUsesMean, 1),
      num(100 * s.completeRate, 1),
      num(s.latencyP95Ms.total, 1),
    ]);
  const digital = r.digital
    .slice()
    .sort((a, b) => a.channel.localeCompare(b.channel) || a.snrDb - b.snrDb)
    .map((d) => ['digital (JPEG at capacity)', esc(d.channel), num(d.snrDb, 1), String(d.n), num(d.psnrMean), '–', num(d.ssimMean, 4), String(d.channelUses), num(100 * (1 - d.failed / Math.max(1, d.n)), 1), '–']);
  return `<details><summary>All ${rows.length + digital.length} summary rows</summary>${table(
    ['variant', 'channel', 'SNR dB', 'n', 'PSNR dB', 'PSNR std', 'SSIM', 'channel uses', 'complete %', 'total p95 ms'],
    [...rows, ...digital],
    ' id="summary"',
  )}</details>`;
}
