/**
 * Non-finite numbers in calibration data and activations: a NaN or an infinity turns a calibrated range
 * (and with it a scale) into garbage, or makes onnxruntime's reductions disagree with each other (its
 * ReduceMin / ReduceMax skip a NaN unless it comes first), so they are refused with one line that says
 * where: the data source, the input and the row, or the tensor and the sample.
 */
import { AkbError } from '@akb/protocol';

/** The index of the first NaN or infinite value of `data`, or -1 when every value is finite. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return i; // NaN - NaN and Inf - Inf are NaN; every finite v - v is 0
  }
  return -1;
}

/** How many values of `data` are NaN or infinite. */
export function countNonFinite(data: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) n++;
  }
  return n;
}

/** `NaN`, `Infinity` or `-Infinity`. */
export function nonFiniteName(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * Throws a one-line AkbError('NON_FINITE_DATA') when a row of `data` (`rows` rows of `rowSize` values)
 * holds a NaN or an infinity, naming the first such row: `<where(row)> holds NaN at flat index 3 of the
 * row (12 of 330 values are not finite): <rule>`. `where` names the source, the row and the input.
 */
export function checkFiniteRows(
  data: ArrayLike<number>,
  rowSize: number,
  rows: number,
  where: (row: number) => string,
  rule = 'calibration and held-out data must be finite numbers',
): void {
  const first = firstNonFinite(data);
  if (first === -1) return;
  const row = rowSize > 0 ? Math.floor(first / rowSize) : 0;
  if (row >= rows) return;
  const bad = countNonFinite(data);
  const total = Math.min(data.length, rows * rowSize);
  const share = bad === total ? `every value is ${allSame(data) ? nonFiniteName(data[0]!) : 'non-finite'}` : `${bad} of ${total} values are not finite`;
  throw new AkbError(
    'NON_FINITE_DATA',
    `${where(row)} holds ${nonFiniteName(data[first]!)} at flat index ${first - row * rowSize} of the row (${share}): ${rule}`,
    { hint: 'fix or drop those rows' },
  );
}

function allSame(data: ArrayLike<number>): boolean {
  const name = nonFiniteName(data[0]!);
  for (let i = 1; i < data.length; i++) if (nonFiniteName(data[i]!) !== name) return false;
  return true;
}
