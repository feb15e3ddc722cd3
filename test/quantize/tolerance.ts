/**
 * Tolerances for numbers that come out of onnxruntime's float kernels (or are derived from them:
 * calibrated ranges, scales, zero points, SQNRs).
 *
 * Those numbers are not the same on every machine: a convolution or a reduction sums its terms in an
 * order set by the CPU's SIMD width (AVX2 8 lanes, AVX-512 16), by FMA or VNNI availability and by how
 * the work is split between threads, and float32 addition is not associative. Measured: the 80 ranges
 * of deepjscc-r12-snr7-enc calibrated on an AVX-512/VNNI machine differ from those onnxruntime gave on
 * an AVX2 machine by up to 6 ULPs of the tensor's magnitude (4e-7 relative), e.g. `/Clip_output_0` min
 * 36209.328125 against 36209.3359375 (2 ULPs). So a test compares them within a tolerance derived from
 * the computation, never bit for bit.
 */

/** The spacing of float32 numbers at magnitude `m` (one ULP); the smallest normal's spacing below it. */
export function ulpF32(m: number): number {
  const a = Math.abs(m);
  if (!(a >= 2 ** -126)) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/**
 * ULPs of a tensor's magnitude that a value computed by onnxruntime may move between machines. The
 * largest reduction of the zoo models is a 5x5 convolution over 64 channels (K = 1600 products): summed
 * in another order its result moves by about sqrt(K) = 40 ULPs at worst when rounding errors add up like
 * a random walk, and by a few in practice (6 measured). 32 keeps 5x headroom over what was measured.
 */
export const KERNEL_ULPS = 32;

/** How far `got` may be from `want` when both are bounds of a range of magnitude `magnitude`. */
export function rangeTolerance(magnitude: number, opts: { ulps?: number; binWidth?: number } = {}): number {
  return (opts.ulps ?? KERNEL_ULPS) * ulpF32(magnitude) + (opts.binWidth ?? 0);
}

/**
 * A failure message when `got` is further than `tol` from `want`, else undefined (to collect all the
 * misses of a table and report them together).
 */
export function farFrom(label: string, got: number, want: number, tol: number): string | undefined {
  if (Object.is(got, want) || Math.abs(got - want) <= tol) return undefined;
  return `${label}: got ${got}, want ${want} ± ${tol.toPrecision(3)} (off by ${Math.abs(got - want).toPrecision(3)})`;
}

/**
 * Zero points (and other integers rounded from a float) of ranges that agree within tolerance: a range
 * a few ULPs off moves `rmin / scale` by a few ULPs too, which flips the rounding when it sits near .5,
 * so they may differ by 1 and no more.
 */
export function zeroPointsAgree(got: number, want: number): boolean {
  return Math.abs(got - want) <= 1;
}
