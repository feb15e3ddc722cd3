/**
 * A small strict reader of NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): little-endian
 * float32 (`<f4`), float64 (`<f8`) and uint8 (`|u1`) in C order. Anything else (big-endian, Fortran
 * order, other dtypes, object arrays, a header that is not numpy's dict, a payload shorter or longer
 * than the shape says) is refused with a one-line error naming the file.
 */
import { readFile } from 'node:fs/promises';
import { AkbError } from '@akb/protocol';

/** A decoded .npy array. */
export interface NpyArray {
  dtype: 'float32' | 'float64' | 'uint8';
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DTYPES: Record<string, { dtype: NpyArray['dtype']; size: number }> = {
  '<f4': { dtype: 'float32', size: 4 },
  '<f8': { dtype: 'float64', size: 8 },
  '|u1': { dtype: 'uint8', size: 1 },
  '<u1': { dtype: 'uint8', size: 1 },
};

function bad(source: string, what: string): AkbError {
  return new AkbError('BAD_CALIBRATION_DATA', `${source}: ${what}`);
}

/** Parses numpy's header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
function parseHeader(text: string, source: string): { descr: string; fortran: boolean; shape: number[] } {
  const body = /^\{(.*)\}\s*$/s.exec(text.trim());
  if (!body) throw bad(source, 'not a .npy file: its header is not a dict');
  const entries = new Map<string, string>();
  const re = /\s*'(\w+)'\s*:\s*('[^']*'|True|False|\([^)]*\))\s*(,|$)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(body[1]!)) !== null && m[0] !== '') {
    entries.set(m[1]!, m[2]!);
    end = re.lastIndex;
  }
  if (body[1]!.slice(end).trim() !== '' || !entries.has('descr') || !entries.has('fortran_order') || !entries.has('shape') || entries.size !== 3) {
    throw bad(source, `not a .npy file: unexpected header ${JSON.stringify(text.trim()).slice(0, 120)}`);
  }
  const shapeText = entries.get('shape')!.slice(1, -1).trim();
  const parts = shapeText === '' ? [] : shapeText.split(',').map((s) => s.trim());
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const shape = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (shape.some((d) => !Number.isSafeInteger(d))) throw bad(source, `bad .npy shape (${shapeText})`);
  return { descr: entries.get('descr')!.slice(1, -1), fortran: entries.get('fortran_order') === 'True', shape };
}

/** Decodes .npy bytes; `source` names the file in errors. */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad(source, 'not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw bad(source, `unsupported .npy format version ${major}.${bytes[7]!}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) throw bad(source, 'truncated .npy: the header length is cut off');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw bad(source, `truncated .npy: the header needs ${headerLen} bytes, the file ends first`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const { descr, fortran, shape } = parseHeader(text, source);
  const kind = DTYPES[descr];
  if (!kind) {
    const hint = descr.startsWith('>') ? 'big-endian data' : `dtype '${descr}'`;
    throw bad(source, `${hint} is not supported: .npy calibration data must be little-endian float32, float64 or uint8`);
  }
  if (fortran) throw bad(source, 'Fortran-order .npy is not supported: save it in C order (np.ascontiguousarray)');
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * kind.size;
  const have = bytes.length - dataStart;
  const shapeText = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  if (have < need) throw bad(source, `truncated .npy: shape ${shapeText} ${kind.dtype} needs ${need} data bytes, the file has ${have}`);
  if (have > need) throw bad(source, `.npy has ${have - need} bytes past the data of shape ${shapeText} ${kind.dtype}`);
  // a copy (aligned, independent of the file buffer); Buffer#slice would not copy
  const payload = new Uint8Array(need);
  payload.set(bytes.subarray(dataStart, dataStart + need));
  const data =
    kind.dtype === 'float32'
      ? new Float32Array(payload.buffer, 0, count)
      : kind.dtype === 'float64'
        ? new Float64Array(payload.buffer, 0, count)
        : payload;
  return { dtype: kind.dtype, shape, data };
}

/** Reads and decodes a .npy file. */
export async function readNpy(path: string): Promise<NpyArray> {
  return parseNpy(await readFile(path), path);
}
