/**
 * Samples as rows: every input's values of all samples in one array, so evaluation code can take any
 * batch of rows whatever the samples' own batch sizes (a calibration sample may hold one row or many).
 */
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import type { Feeds } from './session.js';

type Numeric = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** One input's values over all rows. */
export interface RowColumn {
  type: ort.Tensor.Type;
  /** Dimensions of one row (the tensor's dims without the batch dimension). */
  rowDims: number[];
  rowSize: number;
  data: Numeric;
}

/** Inputs by name, all with the same number of rows. */
export interface RowTable {
  count: number;
  columns: Map<string, RowColumn>;
}

/** Joins samples into a row table; samples must agree in input names, types and row shapes. */
export function toRows(samples: readonly Feeds[]): RowTable {
  const first = samples[0];
  if (first === undefined) throw new AkbError('BAD_CALIBRATION_DATA', 'no samples');
  const columns = new Map<string, RowColumn>();
  let count = 0;
  for (const s of samples) count += rowsOf(Object.values(s)[0]);
  for (const [name, head] of Object.entries(first)) {
    const rowDims = head.dims.slice(1).map(Number);
    const rowSize = rowDims.reduce((a, b) => a * b, 1);
    const data = new ((head.data as Numeric).constructor as new (n: number) => Numeric)(count * rowSize);
    let offset = 0;
    samples.forEach((s, i) => {
      const t = s[name];
      if (t === undefined) throw new AkbError('BAD_CALIBRATION_DATA', `sample ${i} has no input "${name}"`);
      if (t.type !== head.type || t.dims.slice(1).join() !== rowDims.join()) {
        throw new AkbError('BAD_CALIBRATION_DATA', `input "${name}": sample ${i} is [${t.dims.join(', ')}] ${t.type}, sample 0 is [${head.dims.join(', ')}] ${head.type}`);
      }
      (data as { set(a: ArrayLike<number | bigint>, o: number): void }).set(t.data as Numeric, offset);
      offset += t.size;
    });
    if (offset !== data.length) throw new AkbError('BAD_CALIBRATION_DATA', `input "${name}" has ${offset / rowSize} rows, another input has ${count}`);
    columns.set(name, { type: head.type, rowDims, rowSize, data });
  }
  return { count, columns };
}

/** Rows `start .. start + n` as feeds; `names` restricts (and orders) the inputs, `override` replaces some. */
export function batchOf(table: RowTable, start: number, n: number, names?: readonly string[], override?: Feeds): Feeds {
  const feeds: Feeds = {};
  for (const name of names ?? [...table.columns.keys()]) {
    const given = override?.[name];
    if (given !== undefined) {
      feeds[name] = given;
      continue;
    }
    const col = table.columns.get(name);
    if (col === undefined) throw new AkbError('BAD_CALIBRATION_DATA', `the data has no input "${name}" (it has ${[...table.columns.keys()].join(', ')})`);
    const data = col.data.subarray(start * col.rowSize, (start + n) * col.rowSize);
    feeds[name] = new ort.Tensor(col.type, data as Float32Array, [n, ...col.rowDims]);
  }
  return feeds;
}

/** Each row as its own one-row sample (views, no copies). */
export function rowSamples(table: RowTable): Feeds[] {
  return Array.from({ length: table.count }, (_, i) => batchOf(table, i, 1));
}

/** The first `n` rows and the rest, as two tables (views, no copies). */
export function splitRows(table: RowTable, n: number): [RowTable, RowTable] {
  const cut = (from: number, to: number): RowTable => {
    const columns = new Map<string, RowColumn>();
    for (const [name, c] of table.columns) columns.set(name, { ...c, data: c.data.subarray(from * c.rowSize, to * c.rowSize) });
    return { count: to - from, columns };
  };
  return [cut(0, n), cut(n, table.count)];
}

/** A float column's values of row `row` (a view). */
export function floatRow(table: RowTable, name: string, row: number): Float32Array {
  const col = table.columns.get(name);
  if (col === undefined || !(col.data instanceof Float32Array)) throw new AkbError('BAD_CALIBRATION_DATA', `the data has no float input "${name}"`);
  return col.data.subarray(row * col.rowSize, (row + 1) * col.rowSize);
}

function rowsOf(t: ort.Tensor | undefined): number {
  return t === undefined ? 0 : t.dims.length === 0 ? 1 : Number(t.dims[0]);
}
