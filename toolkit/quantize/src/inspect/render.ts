/**
 * The inspector's report as aligned text for a terminal.
 */
import type { InspectReport, TensorSummary } from './inspect.js';

/** 1234567 -> '1.23 M'; small counts stay exact. */
export function formatCount(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toPrecision(3)} ${unit}`;
  return String(n);
}

/** Bytes with a binary unit: 1536 -> '1.50 KiB'. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(2)} ${units[i]}`;
}

/** Rows of cells as lines with every column padded to its widest cell; `right` columns align right. */
export function alignColumns(rows: string[][], right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

const tensorLine = (t: TensorSummary): string => `${t.name} ${t.type}${t.shape ? ` [${t.shape.join(', ')}]` : ' (shape unknown)'}`;

/** The report as lines of text: a header block, then one row per op type. */
export function renderInspectReport(r: InspectReport, title?: string): string[] {
  const p = r.parameters;
  const header: string[][] = [
    ...(title ? [['model', title]] : []),
    ['ir version', `${r.irVersion}${r.producer ? `, from ${r.producer}` : ''}`],
    ['opsets', r.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || '(none)'],
    ...r.inputs.map((t, i) => [i === 0 ? 'inputs' : '', tensorLine(t)]),
    ...r.outputs.map((t, i) => [i === 0 ? 'outputs' : '', tensorLine(t)]),
    ['nodes', `${r.nodes}${r.subgraphNodes ? ` (${r.subgraphNodes} in subgraphs)` : ''}`],
    ['parameters', `${formatCount(p.count)} in ${formatBytes(p.bytes)}${p.byType.length ? `: ${p.byType.map((t) => `${t.type} ${formatCount(t.elements)} (${formatBytes(t.bytes)})`).join(', ')}` : ''}`],
    ...(r.constants.count ? [['constants', `${formatCount(r.constants.count)} in ${formatBytes(r.constants.bytes)} (Constant nodes)`]] : []),
    ['MACs', macsLine(r)],
    ['quantizer', `${r.quantizer.quantized.length} op types quantized, ${r.quantizer.keptFloat.length} kept float${r.quantizer.keptFloat.length ? ` (${r.quantizer.keptFloat.join(', ')})` : ''}`],
  ];
  const table: string[][] = [['op type', 'count', 'MACs', 'quantizer']];
  for (const o of r.ops) {
    table.push([o.domain ? `${o.domain}.${o.opType}` : o.opType, String(o.count), o.macs === null ? '-' : formatCount(o.macs), o.quantizer === 'float' ? 'kept float' : `quantized (${o.quantizer})`]);
  }
  return [...alignColumns(header), '', ...alignColumns(table, new Set([1, 2]))];
}

function macsLine(r: InspectReport): string {
  const m = r.macs;
  if (m.total === null) return `unknown${m.note ? ` (${m.note})` : ''}`;
  const from = m.shapesFrom === 'probe' ? 'shapes from a probe run' : 'shapes from the model';
  const per = m.dynamicDims.length ? `, per ${m.dynamicDims.join(' x ')} = 1` : '';
  const missing = m.unknownNodes ? `, ${m.unknownNodes} nodes not counted` : '';
  return `${formatCount(m.total)} (Conv, ConvTranspose, MatMul, Gemm; ${from}${per}${missing})`;
}
