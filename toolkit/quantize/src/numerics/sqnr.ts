/**
 * Signal-to-quantization-noise ratio in decibels: `10 * log10(sum ref^2 / sum (ref - test)^2)`,
 * accumulated in float64. Infinity when the two are equal (including both empty), -Infinity when the
 * reference is all zeros and the test is not, NaN when any value is NaN. Throws a RangeError when the
 * lengths differ.
 */
export function sqnrDb(reference: ArrayLike<number>, test: ArrayLike<number>): number {
  if (reference.length !== test.length) {
    throw new RangeError(`SQNR needs arrays of the same length: reference has ${reference.length}, test has ${test.length}`);
  }
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const d = r - test[i]!;
    signal += r * r;
    noise += d * d;
  }
  if (Number.isNaN(signal) || Number.isNaN(noise)) return NaN;
  if (noise === 0) return Infinity;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}
