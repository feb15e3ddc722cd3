/**
 * float32 arithmetic as numpy does it, so the histogram calibrators reproduce onnxruntime's Python
 * numbers (its histograms, edges and KL divergences are float32 numpy arrays).
 */

const f = Math.fround;

/**
 * numpy's pairwise summation of a contiguous float32 array (`np.sum` of float32): blocks of up to 128
 * values summed with eight float32 accumulators, longer runs split in two at a multiple of 8. Checked
 * equal to numpy 2.4 on random arrays of 1 to 200,000 values.
 */
export function pairwiseSumF32(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f(res + a[start + i]!);
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = f(r[j]! + a[start + i + j]!);
    }
    let res = f(f(f(r[0]! + r[1]!) + f(r[2]! + r[3]!)) + f(f(r[4]! + r[5]!) + f(r[6]! + r[7]!)));
    for (; i < n; i++) res = f(res + a[start + i]!);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSumF32(a, start, n2) + pairwiseSumF32(a, start + n2, n - n2));
}

/**
 * `np.linspace(start, stop, count, dtype=float32)` for float32 bounds, as `np.histogram` makes its bin
 * edges: `edge[k] = f32(f32(k * step) + start)` with `step = f32(f32(stop - start) / (count - 1))`,
 * the last edge set to `stop`. Checked equal to numpy 2.4.
 */
export function linspaceF32(start: number, stop: number, count: number): Float32Array {
  const out = new Float32Array(count);
  const div = count - 1;
  const delta = f(stop - start);
  const step = f(delta / div);
  for (let k = 0; k < count; k++) {
    // numpy divides first when the step underflows to 0 (denormal ranges)
    const y = step === 0 ? f(f(k / div) * delta) : f(k * step);
    out[k] = f(y + start);
  }
  if (count > 1) out[count - 1] = stop;
  return out;
}

/** numpy's float32 floor division `a // b` (npy_divmodf): fmod, then an exact-ish quotient, then floor. */
export function floorDivF32(a: number, b: number): number {
  const mod = a % b; // exact, like fmodf
  let div = f(f(a - mod) / b);
  if (mod !== 0 && b < 0 !== mod < 0) div = f(div - 1);
  if (div === 0) return 0;
  let floordiv = Math.floor(div);
  if (div - floordiv > 0.5) floordiv += 1;
  return floordiv;
}
