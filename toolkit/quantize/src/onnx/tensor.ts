/**
 * TensorProto payloads: element counts, byte sizes, reading values as float32, making tensors.
 * Multi-byte values are little-endian in `rawData` (every platform Node runs on here is little-endian).
 */
import { OnnxFormatError, UnsupportedModelError } from './errors.js';
import { float16Table, toFloat16Bits, bfloat16BitsToFloat32, float32ToBfloat16Bits } from './float16.js';
import { DataType, type TensorProto } from './types.js';

const NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING', 9: 'BOOL',
  10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16',
  17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4',
  23: 'FLOAT4E2M1', 24: 'FLOAT8E8M0', 25: 'UINT2', 26: 'INT2', 27: 'FLOAT6E2M3', 28: 'FLOAT6E3M2',
};

/** Bits per element of each fixed-width data type (STRING and UNDEFINED have none). */
const BITS: Record<number, number> = {
  1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64, 15: 128, 16: 16,
  17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2, 27: 6, 28: 6,
};

/** The onnx.proto name of a data type (`FLOAT`, `INT8`, ...), or `UNKNOWN(n)`. */
export function dataTypeName(dataType: number): string {
  return NAMES[dataType] ?? `UNKNOWN(${dataType})`;
}

/**
 * Bytes per element: 4 for FLOAT, 0.5 for INT4/UINT4/FLOAT4E2M1, 0.25 for 2-bit types, 0.75 for 6-bit
 * floats. Throws UnsupportedModelError for STRING, UNDEFINED and unknown codes.
 */
export function bytesPerElement(dataType: number): number {
  const bits = BITS[dataType];
  if (bits === undefined) throw new UnsupportedModelError(`data type ${dataTypeName(dataType)} has no fixed element size`);
  return bits / 8;
}

/** Bytes that `count` packed elements take in raw_data (sub-byte types round up), or undefined for STRING/unknown. */
export function tensorByteLength(dataType: number, count: number): number | undefined {
  const bits = BITS[dataType];
  return bits === undefined ? undefined : Math.ceil((bits * count) / 8);
}

/** Number of elements of a shape (1 for a scalar). Throws OnnxFormatError on a negative or fractional dim. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new OnnxFormatError(`invalid tensor dimension ${d} in [${dims.join(', ')}]`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new OnnxFormatError(`tensor shape [${dims.join(', ')}] has too many elements`);
  return n;
}

/** `rawData` copied into a fresh, aligned buffer, after checking its length. */
function alignedRaw(t: TensorProto, count: number): ArrayBuffer {
  const raw = t.rawData!;
  const expected = tensorByteLength(t.dataType, count);
  if (expected !== raw.length) {
    throw new OnnxFormatError(`tensor '${t.name}' (${dataTypeName(t.dataType)} [${t.dims.join(', ')}]) has ${raw.length} bytes of raw data, expected ${expected}`);
  }
  return Uint8Array.prototype.slice.call(raw).buffer; // a copy even when raw is a Node Buffer (whose slice is a view)
}

function checkCount(t: TensorProto, got: number, count: number, field: string): void {
  if (got !== count) throw new OnnxFormatError(`tensor '${t.name}' has ${got} values in ${field}, its shape [${t.dims.join(', ')}] needs ${count}`);
}

/** 4-bit values, two per byte, low nibble first; `signed` sign-extends. */
function unpack4(bytes: ArrayLike<number>, count: number, signed: boolean): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const nib = (bytes[i >> 1]! >> ((i & 1) * 4)) & 0xf;
    out[i] = signed && nib >= 8 ? nib - 16 : nib;
  }
  return out;
}

/**
 * A tensor's values as float32: FLOAT, FLOAT16, BFLOAT16, DOUBLE, BOOL and the integer types (INT64 and
 * UINT64 beyond 2^24 lose precision, as any float32 does). Reads `rawData` or the typed `*_data` field.
 * Throws OnnxFormatError when the payload does not match the shape, UnsupportedModelError for other
 * types or for data still in an external file.
 */
export function tensorToFloat32(t: TensorProto): Float32Array {
  const count = elementCount(t.dims);
  const dt = t.dataType;
  if (t.dataLocation === 1) {
    throw new UnsupportedModelError(`tensor '${t.name}' is in an external file that was not loaded (read the model with readModel)`);
  }
  if (t.rawData !== undefined) {
    const buf = alignedRaw(t, count);
    switch (dt) {
      case DataType.FLOAT: return new Float32Array(buf);
      case DataType.DOUBLE: return Float32Array.from(new Float64Array(buf));
      case DataType.FLOAT16: {
        const table = float16Table();
        const h = new Uint16Array(buf);
        const out = new Float32Array(count);
        for (let i = 0; i < count; i++) out[i] = table[h[i]!]!;
        return out;
      }
      case DataType.BFLOAT16: return Float32Array.from(new Uint16Array(buf), bfloat16BitsToFloat32);
      case DataType.INT8: return Float32Array.from(new Int8Array(buf));
      case DataType.UINT8:
      case DataType.BOOL: return Float32Array.from(new Uint8Array(buf));
      case DataType.INT16: return Float32Array.from(new Int16Array(buf));
      case DataType.UINT16: return Float32Array.from(new Uint16Array(buf));
      case DataType.INT32: return Float32Array.from(new Int32Array(buf));
      case DataType.UINT32: return Float32Array.from(new Uint32Array(buf));
      case DataType.INT64: return Float32Array.from(new BigInt64Array(buf), Number);
      case DataType.UINT64: return Float32Array.from(new BigUint64Array(buf), Number);
      case DataType.INT4: return unpack4(new Uint8Array(buf), count, true);
      case DataType.UINT4: return unpack4(new Uint8Array(buf), count, false);
      default: throw new UnsupportedModelError(`cannot read tensor '${t.name}' of type ${dataTypeName(dt)} as float32`);
    }
  }
  switch (dt) {
    case DataType.FLOAT: {
      const v = t.floatData ?? [];
      checkCount(t, v.length, count, 'float_data');
      return Float32Array.from(v);
    }
    case DataType.DOUBLE: {
      const v = t.doubleData ?? [];
      checkCount(t, v.length, count, 'double_data');
      return Float32Array.from(v);
    }
    case DataType.INT64: {
      const v = t.int64Data ?? [];
      checkCount(t, v.length, count, 'int64_data');
      return Float32Array.from(v, Number);
    }
    case DataType.UINT32:
    case DataType.UINT64: {
      const v = t.uint64Data ?? [];
      checkCount(t, v.length, count, 'uint64_data');
      return Float32Array.from(v, Number);
    }
    case DataType.INT4:
    case DataType.UINT4: {
      const v = t.int32Data ?? [];
      checkCount(t, v.length, Math.ceil(count / 2), 'int32_data');
      return unpack4(v, count, dt === DataType.INT4);
    }
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.INT32: {
      const v = t.int32Data ?? [];
      checkCount(t, v.length, count, 'int32_data');
      if (dt === DataType.FLOAT16) {
        const table = float16Table();
        return Float32Array.from(v, (h) => table[h & 0xffff]!);
      }
      if (dt === DataType.BFLOAT16) return Float32Array.from(v, bfloat16BitsToFloat32);
      return Float32Array.from(v);
    }
    default:
      throw new UnsupportedModelError(`cannot read tensor '${t.name}' of type ${dataTypeName(dt)} as float32`);
  }
}

/**
 * A tensor's INT64/INT32/UINT8/INT8/... values exactly, as bigint (for shapes, axes, indices). Throws
 * like `tensorToFloat32`; floating-point types are refused.
 */
export function tensorToBigInt64(t: TensorProto): BigInt64Array {
  if (t.dataType === DataType.INT64 && t.dataLocation !== 1) {
    const count = elementCount(t.dims);
    if (t.rawData !== undefined) return new BigInt64Array(alignedRaw(t, count));
    const v = t.int64Data ?? [];
    checkCount(t, v.length, count, 'int64_data');
    return BigInt64Array.from(v);
  }
  const floatTypes: number[] = [DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16];
  if (floatTypes.includes(t.dataType)) throw new UnsupportedModelError(`tensor '${t.name}' is ${dataTypeName(t.dataType)}, not an integer type`);
  return BigInt64Array.from(tensorToFloat32(t), (x) => BigInt(x));
}

/** The typed array that holds each data type's raw values (16-bit floats as Uint16Array bit patterns). */
const ARRAY_FOR: Record<number, string> = {
  1: 'Float32Array', 2: 'Uint8Array', 3: 'Int8Array', 4: 'Uint16Array', 5: 'Uint16Array', 6: 'Int32Array', 7: 'BigInt64Array',
  9: 'Uint8Array', 10: 'Uint16Array', 11: 'Float64Array', 16: 'Uint16Array', 17: 'Uint8Array', 18: 'Uint8Array', 19: 'Uint8Array',
  20: 'Uint8Array',
};

/** Typed arrays `makeTensor` takes. */
export type TensorData = Float32Array | Int8Array | Uint8Array | Int32Array | Uint16Array | BigInt64Array | Float64Array;

/**
 * A TensorProto with its values in `rawData` (little-endian, a copy of `data`). The array must match the
 * type's element size (Float32Array for FLOAT, Uint16Array bit patterns for FLOAT16, BigInt64Array for
 * INT64, ...), with two conveniences: a Float32Array for FLOAT16/BFLOAT16 is converted (round to nearest
 * even), and an Int8Array/Uint8Array of one value per element for INT4/UINT4 is packed two per byte.
 * Throws RangeError when `data` does not fit `dataType` or `dims`.
 */
export function makeTensor(name: string, dataType: number, dims: number[], data: TensorData): TensorProto {
  const count = elementCount(dims);
  if (data.length !== count) throw new RangeError(`makeTensor '${name}': ${data.length} values for shape [${dims.join(', ')}] (${count} elements)`);
  let bytes: Uint8Array;
  if ((dataType === DataType.FLOAT16 || dataType === DataType.BFLOAT16) && data instanceof Float32Array) {
    const bits = dataType === DataType.FLOAT16 ? toFloat16Bits(data) : Uint16Array.from(data, float32ToBfloat16Bits);
    bytes = new Uint8Array(bits.buffer);
  } else if ((dataType === DataType.INT4 || dataType === DataType.UINT4) && (data instanceof Int8Array || data instanceof Uint8Array)) {
    const [lo, hi] = dataType === DataType.INT4 ? [-8, 7] : [0, 15];
    bytes = new Uint8Array(Math.ceil(count / 2));
    for (let i = 0; i < count; i++) {
      const v = data[i]!;
      if (v < lo || v > hi) throw new RangeError(`makeTensor '${name}': ${v} does not fit ${dataTypeName(dataType)}`);
      bytes[i >> 1]! |= (v & 0xf) << ((i & 1) * 4);
    }
  } else {
    if (ARRAY_FOR[dataType] !== data.constructor.name) {
      throw new RangeError(`makeTensor '${name}': a ${data.constructor.name} cannot hold ${dataTypeName(dataType)} values (use ${ARRAY_FOR[dataType] ?? 'another type'})`);
    }
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  return { name, dims: [...dims], dataType, rawData: bytes };
}
