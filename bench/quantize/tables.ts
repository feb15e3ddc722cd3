/** The quantization bench's result as the Markdown tables of toolkit/quantize/README.md. */

interface Side {
  bytes: number;
  sqnrDb: number;
  referenceSqnrDb: number;
  ms: number;
}
interface Variant {
  akb: Side;
  ort: Side | { missing: string };
  sqnrDeltaDb?: number;
  referenceSqnrDeltaDb?: number;
  sizeRatio?: number;
}
interface JsccEntry {
  maxLossDb?: number;
  referenceMaxLossDb?: number;
  skipped?: string;
  keptInFloat?: string[];
}
interface BenchResult {
  comparison: Record<string, { floatBytes: number; floatMs: number; variants: Record<string, Variant> }>;
  summary: object;
  jscc?: Record<string, object>;
  weightOnly?: Record<string, object>;
  mobilenetTiming?: object;
}

const kib = (b: number): string => (b / 1024).toFixed(1);
const db = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : String(x));
const sign = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

/** The comparison, JSCC and timing tables as Markdown. */
export function markdownTables(result: BenchResult): string {
  const lines: string[] = [];
  lines.push('| model | types | method | float KiB | akb KiB | ort KiB | akb/ort size | akb SQNR dB (ref) | ort SQNR dB (ref) | akb − ort dB (ref) | float ms | akb ms | ort ms |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [model, c] of Object.entries(result.comparison)) {
    for (const [key, v] of Object.entries(c.variants)) {
      const [types, method] = key.split('.');
      const o = 'bytes' in v.ort ? v.ort : undefined;
      lines.push(
        `| ${model} | ${types!.toUpperCase()} | ${method} | ${kib(c.floatBytes)} | ${kib(v.akb.bytes)} | ${o ? kib(o.bytes) : '—'} | ${v.sizeRatio?.toFixed(3) ?? '—'} | ${db(v.akb.sqnrDb)} (${db(v.akb.referenceSqnrDb)}) | ${o ? `${db(o.sqnrDb)} (${db(o.referenceSqnrDb)})` : '—'} | ${v.sqnrDeltaDb !== undefined ? `${sign(v.sqnrDeltaDb)} (${sign(v.referenceSqnrDeltaDb!)})` : '—'} | ${c.floatMs.toFixed(3)} | ${v.akb.ms.toFixed(3)} | ${o ? o.ms.toFixed(3) : '—'} |`,
      );
    }
  }
  lines.push('', `Summary: ${JSON.stringify(result.summary)}`, '');
  if (result.jscc) {
    lines.push('Worst PSNR loss over the SNR grid, dB: this CPU\'s onnxruntime kernels / QDQ reference semantics (the arithmetic of ARM boards with the dot product).', '');
    lines.push('| JSCC model | int8 (U8S8, MinMax) | fp16 | int8, accuracy-driven to ≤ 0.1 dB (reference) | nodes kept in float |');
    lines.push('| --- | ---: | ---: | ---: | --- |');
    for (const [model, e] of Object.entries(result.jscc) as [string, { int8?: JsccEntry; fp16?: JsccEntry; int8AccuracyDriven?: JsccEntry; error?: string }][]) {
      if (e.error) {
        lines.push(`| ${model} | error: ${e.error} | | | |`);
        continue;
      }
      const loss = (j: JsccEntry | undefined): string =>
        j?.maxLossDb !== undefined ? `${j.maxLossDb.toFixed(3)} / ${j.referenceMaxLossDb?.toFixed(3) ?? '—'}` : (j?.skipped ?? '—');
      const d = e.int8AccuracyDriven;
      lines.push(`| ${model} | ${loss(e.int8)} | ${loss(e.fp16)} | ${d ? loss(d) : 'not needed'} | ${d ? `${d.keptInFloat?.length ?? 0}: ${(d.keptInFloat ?? []).join(', ')}` : '—'} |`);
    }
    lines.push('');
  }
  if (result.weightOnly) lines.push(`Weight-only: ${JSON.stringify(result.weightOnly)}`, '');
  if (result.mobilenetTiming) lines.push(`MobileNetV3-small timing: ${JSON.stringify(result.mobilenetTiming)}`, '');
  return `${lines.join('\n')}\n`;
}
