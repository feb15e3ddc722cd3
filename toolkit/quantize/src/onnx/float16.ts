/**
 * IEEE 754 half precision (and bfloat16) to and from float32, bit-exact with numpy: round to nearest,
 * ties to even; subnormals kept; overflow to ±infinity; NaN stays NaN (its top payload bits kept).
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function float32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0]!;
}

function bitsToFloat32(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0]!;
}

/** The float16 bit pattern nearest to `x` (after rounding `x` to float32, as numpy's astype does). */
export function float32ToFloat16Bits(x: number): number {
  return halfFromFloat32Bits(float32Bits(x));
}

/** float32 bits -> float16 bits, round to nearest even. */
function halfFromFloat32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    return sign | 0x7c00 | (mant >>> 13 || 1);
  }
  const e = exp - 127;
  if (e >= 16) return sign | 0x7c00;
  if (e >= -14) {
    // Normal half: keep the top 10 mantissa bits, round on the 13 dropped ones. A carry out of the
    // mantissa bumps the exponent, which is right (and turns 65520 and up into infinity).
    let half = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
    return sign | half;
  }
  if (e < -25) return sign;
  // Subnormal half: units of 2^-24. The full 24-bit significand times 2^(e+1) is the value in those units.
  const sig = mant | 0x800000;
  const shift = -(e + 1);
  let q = sig >>> shift;
  const rest = sig & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (q & 1) === 1)) q++;
  return sign | q;
}

/** The float32 value of a float16 bit pattern (exact: every half is a float32). */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return bitsToFloat32(((h & 0x8000) << 16) | 0x7f800000 | (mant << 13));
  return bitsToFloat32(((h & 0x8000) << 16) | ((exp + 112) << 23) | (mant << 13));
}

let halfTable: Float32Array | undefined;

/** All 65536 float16 values as float32, built on first use (256 KB). */
export function float16Table(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = float16BitsToFloat32(h);
  }
  return halfTable;
}

/** Converts a whole array to float16 bit patterns. */
export function toFloat16Bits(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = halfFromFloat32Bits(bits[i]!);
  return out;
}

/** Converts float16 bit patterns to float32 values. */
export function fromFloat16Bits(src: Uint16Array): Float32Array {
  const table = float16Table();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return out;
}

/** The bfloat16 bit pattern nearest to `x` (round to nearest even; NaN stays a quiet NaN). */
export function float32ToBfloat16Bits(x: number): number {
  const bits = float32Bits(x);
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** The float32 value of a bfloat16 bit pattern. */
export function bfloat16BitsToFloat32(b: number): number {
  return bitsToFloat32((b & 0xffff) << 16);
}
