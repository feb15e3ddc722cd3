/** The quantization report as terminal lines (the JSON form is the report object itself). */
import type { QuantizeReport } from './types.js';

/** Human lines for `akb quantize`: summary, latency, JSCC PSNR, sensitivity, worst tensors, ops left in float, warnings. */
export function formatReport(r: QuantizeReport, opts: { tensors?: number } = {}): string[] {
  const lines: string[] = [];
  const kv = (k: string, v: string): void => void lines.push(`${k.padEnd(18)} ${v}`);
  kv('input', `${r.input.path} (${kb(r.input.bytes)})`);
  kv('output', `${r.output.path} (${kb(r.output.bytes)}, ${ratio(r.sizeRatio)} of the input)`);
  if (r.card) kv('model card', 'path' in r.card ? r.card.path : `none: ${r.card.skipped}`);
  kv('preset', `${r.preset.name} (${r.preset.reason})`);
  if (r.preset.activationType) kv('types', `activations ${r.preset.activationType}, weights ${r.preset.weightType}${r.preset.perChannel ? ' per channel' : ''}${r.preset.placement === 'weighted-inputs' ? '; Q/DQ on the inputs of weighted ops only' : ''}`);
  if (r.calibration) kv('calibration', `${r.calibration.method}, ${r.calibration.samples} samples from ${r.calibration.source} in ${r.calibration.seconds.toFixed(1)} s`);
  kv('held-out', `${r.heldOut.samples} samples: ${r.heldOut.source}`);
  kv('output SQNR', `${db(r.outputSqnrDb)}${r.outputs.length > 1 ? ` (${r.outputs.map((o) => `${o.name} ${db(o.sqnrDb)}`).join(', ')})` : ''} with this CPU's onnxruntime kernels; ${db(r.referenceSqnrDb)} QDQ reference`);
  kv('latency', `float ${r.latency.floatMs.toFixed(3)} ms, quantized ${r.latency.quantizedMs.toFixed(3)} ms (x${r.latency.ratio.toFixed(2)}, median of ${r.latency.runs}, onnxruntime-node CPU)`);
  kv('nodes', `${r.quantizedNodes} quantized, ${r.leftInFloat.length} left in float`);
  kv('time', `${r.seconds.toFixed(1)} s, peak RSS ${Math.round(r.peakRssMb)} MB`);

  if (r.jscc && 'skipped' in r.jscc) kv('JSCC PSNR', `skipped: ${r.jscc.skipped}`);
  else if (r.jscc) {
    const j = r.jscc;
    const ref = r.jsccReference;
    lines.push('', `PSNR through AWGN (quantized ${j.role}, float ${j.role === 'encoder' ? 'decoder' : 'encoder'}; ${j.images} images, noise seed ${j.seed}):`);
    const header = ['SNR dB', 'float dB', 'this CPU dB', 'loss dB', ...(ref ? ['reference dB', 'loss dB'] : [])];
    lines.push(...table(header, j.points.map((p, i) => {
      const q = ref?.points[i];
      return [p.snrDb.toString(), p.floatPsnrDb.toFixed(3), p.quantizedPsnrDb.toFixed(3), p.lossDb.toFixed(3), ...(q ? [q.quantizedPsnrDb.toFixed(3), q.lossDb.toFixed(3)] : [])];
    })));
    lines.push(`worst loss ${j.maxLossDb.toFixed(3)} dB with this CPU's onnxruntime kernels${ref ? `, ${ref.maxLossDb.toFixed(3)} dB in the QDQ reference semantics (ARM with the dot product)` : ''}`);
  }

  if (r.sensitivity) {
    const s = r.sensitivity;
    const unit = s.metric === 'psnr-loss' ? 'worst PSNR loss' : 'output SQNR';
    const show = (score: number): string => (s.metric === 'psnr-loss' ? `${(-score).toFixed(3)} dB` : db(score));
    lines.push('', `accuracy-driven (${s.strategy}, scored with ${s.semantics === 'reference' ? 'the QDQ reference semantics' : "this CPU's kernels"}, ${s.evaluations} evaluations, ${s.seconds.toFixed(1)} s): ${unit} ${show(s.fullScore)} fully quantized -> ${show(s.finalScore)}; target ${show(s.minScore)} ${s.met ? 'met' : 'NOT met'}`);
    lines.push(s.keptInFloat.length === 0 ? 'no node kept in float' : `kept in float (${s.keptInFloat.length}): ${s.keptInFloat.join(', ')}`);
    if (s.nodes.length > 0) {
      lines.push('most sensitive nodes:');
      lines.push(...table(['node', 'score', 'sensitivity'], s.nodes.slice(0, 10).map((n) => [n.node, show(n.score), n.sensitivity.toFixed(3)])));
    }
  }

  const shown = r.tensors.slice(0, opts.tensors ?? 12);
  if (shown.length > 0) {
    lines.push('', `per-tensor SQNR, lowest ${shown.length} of ${r.tensors.length} (each tensor quantized alone):`);
    lines.push(...table(['tensor', 'kind', 'type', 'scale', 'zp', 'SQNR'], shown.map((t) => [t.name, t.kind, t.type, t.scale.toPrecision(4), String(t.zeroPoint), db(t.sqnrDb)])));
  }
  if (r.leftInFloat.length > 0) {
    lines.push('', 'left in float:');
    lines.push(...table(['node', 'op', 'reason'], r.leftInFloat.map((s) => [s.node, s.opType, s.reason])));
  }
  if (r.warnings.length > 0) {
    lines.push('', `warnings (${r.warnings.length}):`);
    for (const w of r.warnings) lines.push(`- ${w.message}`);
  }
  return lines;
}

/**
 * One line saying that the accuracy-driven target was missed, or undefined when there was no target or
 * it was met: `target NOT met: output SQNR 41.20 dB with 3 of 3 nodes kept in float, target 200.00 dB`.
 */
export function targetMiss(r: QuantizeReport): string | undefined {
  const s = r.sensitivity;
  if (s === undefined || s.met) return undefined;
  const psnr = s.metric === 'psnr-loss';
  const show = (score: number): string => (psnr ? `${(-score).toFixed(3)} dB` : db(score));
  const what = psnr ? 'worst PSNR loss' : 'output SQNR';
  const kept = `${s.keptInFloat.length} of ${s.nodes.length || s.keptInFloat.length} nodes kept in float`;
  return `target NOT met: ${what} ${show(s.finalScore)} with ${kept}, target ${psnr ? 'at most ' : ''}${show(s.minScore)}`;
}

/** Left-aligned columns padded to their widest cell, a dashed rule under the header. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function db(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)} dB` : x > 0 ? 'exact' : String(x);
}

function kb(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function ratio(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** The report as JSON text; non-finite numbers (an exact SQNR is Infinity) become the strings "Infinity" / "-Infinity" / "NaN". */
export function reportToJson(r: QuantizeReport): string {
  return JSON.stringify(r, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value), 2);
}
