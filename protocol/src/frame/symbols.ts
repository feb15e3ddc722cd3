/**
 * Complex symbols (interleaved I,Q real values) to payload bytes and back, in the three wire dtypes. All
 * values are little-endian. int8 uses one scale per payload (per fragment), so every fragment decodes on
 * its own even when its neighbours are lost.
 */
import { AkbError, ProtocolError } from '../errors.js';
import { float16DecodeTable, float32BitsToFloat16Bits } from './float16.js';
import { BYTES_PER_VALUE, SYMBOL_DTYPES, type SymbolDtype } from './header.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const INT8_MAX = 127;
/** Smallest positive float32, used when max|x|/127 underflows to zero. */
const MIN_SCALE = 2 ** -149;

export interface PackedSymbols {
  readonly payload: Uint8Array;
  /** int8: value = q * scale (a float32 value, > 0); float dtypes: 1. */
  readonly scale: number;
}

/** Round half to even, as numpy and IEEE do; Math.round alone rounds halves up. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Packs interleaved I,Q values. float16 rounds to nearest even; int8 uses scale = max|x|/127 (as float32;
 * 1 when all values are zero), rounds half to even and clamps to [-127, 127]. Throws AkbError for an odd
 * number of values, and for NaN or Inf in int8, which has no code for them.
 */
export function packSymbols(values: Float32Array, dtype: SymbolDtype): PackedSymbols {
  const scale = symbolScale(values, dtype);
  const payload = new Uint8Array(values.length * BYTES_PER_VALUE[dtype]);
  writeSymbols(values, dtype, scale, payload);
  return { payload, scale };
}

/**
 * The scale `packSymbols` would use for `values` (1 for the float dtypes), after checking them as it does;
 * with writeSymbols, a sender packs straight into a frame's payload (fragmentSymbols) instead of packing
 * into a new array and copying that.
 */
export function symbolScale(values: Float32Array, dtype: SymbolDtype): number {
  if (values.length % 2 !== 0) {
    throw new ProtocolError('BAD_LENGTH', `${values.length} values are not whole complex symbols`, {
      hint: 'interleave I and Q: two values per symbol',
    });
  }
  if (dtype === 'float32' || dtype === 'float16') return 1;
  if (dtype === 'int8') return int8ScaleOf(values);
  throw new ProtocolError('BAD_DTYPE', `unknown symbol dtype ${String(dtype)}`);
}

/** Writes `values` as `dtype` at the start of `out` (values.length * bytes per value), with symbolScale's `scale`. */
export function writeSymbols(values: Float32Array, dtype: SymbolDtype, scale: number, out: Uint8Array): void {
  const n = values.length;
  if (dtype === 'float32') {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(values.buffer, values.byteOffset, n * 4));
    } else {
      const view = new DataView(out.buffer, out.byteOffset, n * 4);
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i]!, true);
    }
  } else if (dtype === 'float16') {
    const bits = new Uint32Array(values.buffer, values.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const h = float32BitsToFloat16Bits(bits[i]!);
      out[2 * i] = h & 0xff;
      out[2 * i + 1] = h >>> 8;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const q = roundHalfEven(values[i]! / scale);
      out[i] = (q > INT8_MAX ? INT8_MAX : q < -INT8_MAX ? -INT8_MAX : q) & 0xff;
    }
  }
}

function int8ScaleOf(values: Float32Array): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (!(a <= Number.MAX_VALUE)) {
      throw new AkbError('NON_FINITE_SYMBOL', `symbol value ${values[i]} at index ${i} cannot be sent as int8`, {
        hint: 'int8 has no NaN or Inf: clean the encoder output, or send float16/float32',
      });
    }
    if (a > max) max = a;
  }
  return max === 0 ? 1 : int8Scale(max);
}

/**
 * max/127 as float32. Near the float32 limit, rounding up could make 127 * scale overflow to Inf on
 * decode, so the scale then steps down one ulp (the largest value then clamps to 127).
 */
function int8Scale(max: number): number {
  const scale = Math.max(Math.fround(max / INT8_MAX), MIN_SCALE);
  if (Number.isFinite(Math.fround(INT8_MAX * scale))) return scale;
  const bits = new Uint32Array(new Float32Array([scale]).buffer);
  bits[0]! -= 1;
  return new Float32Array(bits.buffer)[0]!;
}

/** Checks a payload against its dtype and scale; returns the number of real values it holds. */
function checkPayload(payload: Uint8Array, dtype: SymbolDtype, scale: number): number {
  const bytesPerValue = BYTES_PER_VALUE[dtype];
  if (!(SYMBOL_DTYPES as readonly string[]).includes(dtype) || bytesPerValue === undefined) {
    throw new ProtocolError('BAD_DTYPE', `unknown symbol dtype ${String(dtype)}`);
  }
  if (!(payload instanceof Uint8Array) || payload.length % (2 * bytesPerValue) !== 0) {
    throw new ProtocolError('BAD_LENGTH', `payload is not whole ${dtype} complex symbols`);
  }
  if (dtype === 'int8' && !(typeof scale === 'number' && Number.isFinite(scale) && scale > 0)) {
    throw new ProtocolError('BAD_HEADER', `int8 scale ${String(scale)} must be finite and > 0`);
  }
  return payload.length / bytesPerValue;
}

/** Unpacks a payload to interleaved I,Q values. Throws only ProtocolError. */
export function unpackSymbols(payload: Uint8Array, dtype: SymbolDtype, scale: number): Float32Array {
  const out = new Float32Array(checkPayload(payload, dtype, scale));
  writeValues(payload, dtype, scale, out, 0);
  return out;
}

/**
 * Unpacks into `target` from real-value index `at`, so a reassembler writes fragments in place. Throws
 * ProtocolError('BAD_LENGTH') when they would not fit.
 */
export function unpackSymbolsInto(payload: Uint8Array, dtype: SymbolDtype, scale: number, target: Float32Array, at: number): number {
  const n = checkPayload(payload, dtype, scale);
  if (!Number.isInteger(at) || at < 0 || at + n > target.length) {
    throw new ProtocolError('BAD_LENGTH', `${n} values do not fit at ${at} in a buffer of ${target.length}`);
  }
  writeValues(payload, dtype, scale, target, at);
  return n;
}

function writeValues(payload: Uint8Array, dtype: SymbolDtype, scale: number, out: Float32Array, at: number): void {
  if (dtype === 'float32') {
    if (LITTLE_ENDIAN) {
      // Copy bytes rather than view: the payload may sit at an offset that is not a multiple of 4.
      new Uint8Array(out.buffer, out.byteOffset + at * 4, payload.length).set(payload);
    } else {
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      for (let i = 0; i < payload.length / 4; i++) out[at + i] = view.getFloat32(i * 4, true);
    }
  } else if (dtype === 'float16') {
    const table = float16DecodeTable();
    for (let i = 0, j = 0; j < payload.length; i++, j += 2) out[at + i] = table[payload[j]! | (payload[j + 1]! << 8)]!;
  } else {
    for (let i = 0; i < payload.length; i++) out[at + i] = ((payload[i]! << 24) >> 24) * scale;
  }
}
