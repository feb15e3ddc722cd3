/**
 * IEEE 754 binary16 conversion. Node 20 has no Float16Array, so symbols are converted bit by bit. Rounding
 * is round-to-nearest, ties-to-even, as the hardware (and numpy's `astype(float16)`) does, so a peer in any
 * language produces the same bytes. Inf stays Inf, NaN stays NaN (quiet), overflow becomes Inf.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits (0..0xFFFF) nearest to `value` once rounded to float32. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  return float32BitsToFloat16Bits(u32[0]!);
}

/** Same as {@link float32ToFloat16Bits}, from the float32 bit pattern. */
export function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) {
    // Inf stays Inf; NaN keeps the top of its payload and is made quiet, so it never turns into Inf.
    return abs === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00 | ((abs >>> 13) & 0x3ff);
  }
  if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520: rounds past the largest half (65504)
  if (abs >= 0x38800000) {
    // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even.
    const odd = (abs >>> 13) & 1;
    return sign | ((abs - 0x38000000 + 0xfff + odd) >>> 13);
  }
  if (abs < 0x33000000) return sign; // below 2^-25: rounds to (signed) zero; 2^-25 itself ties to zero
  // Subnormal half: the result counts units of 2^-24.
  const exp = abs >>> 23;
  const mant = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - exp; // 14..24
  let q = mant >>> shift;
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (q & 1) === 1)) q += 1; // may carry into the smallest normal: still right
  return sign | q;
}

/** The value of binary16 bits `h` (0..0xFFFF), exact. */
export function float16BitsToFloat32(h: number): number {
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

let decodeTable: Float32Array | undefined;

/** All 65536 half values, built once on first use (256 KiB), so bulk decoding is one lookup per value. */
export function float16DecodeTable(): Float32Array {
  if (decodeTable === undefined) {
    const table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = float16BitsToFloat32(h);
    decodeTable = table;
  }
  return decodeTable;
}
