/** Escaping for text and attribute values: everything from a results file is hostile and stays text. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A number for a table cell: `digits` decimals, '–' for null or not finite. */
export function num(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** A table from a header and rows of already-escaped cells. */
export function table(head: string[], rows: string[][], attrs = ''): string {
  return `<table${attrs}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}
