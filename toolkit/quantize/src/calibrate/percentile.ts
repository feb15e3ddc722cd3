/**
 * onnxruntime's `HistogramCollector.compute_percentile` (calibrate.py): the cumulative distribution of
 * the histogram (float64, summed in order like np.cumsum) is searched (`np.searchsorted`, left side)
 * for the percentile, and the left edge of the bin found is the threshold.
 *
 * - symmetric (a histogram of |x|): threshold t at `percentile / 100`, range [-t, t];
 * - asymmetric (a histogram over [-T, T]): `(100 - percentile) / 200` is cut from each side.
 *
 * Either way the range is then clipped to the data's min and max (so a ReLU output gets [0, t]).
 */

/** Index of the first cdf value >= v (np.searchsorted side='left'); cdf.length when none. */
function searchLeft(cdf: Float64Array, v: number): number {
  let lo = 0;
  let hi = cdf.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The percentile range of a histogram; `percentile` in [0, 100]. */
export function percentileRange(
  counts: Float64Array,
  edges: Float64Array,
  min: number,
  max: number,
  percentile: number,
  symmetric: boolean,
): { min: number; max: number } {
  if (!(percentile >= 0 && percentile <= 100)) {
    throw new RangeError(`percentile must be between 0 and 100, got ${percentile}`);
  }
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  const cdf = new Float64Array(counts.length);
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]! / total;
    cdf[i] = acc;
  }
  let lo: number;
  let hi: number;
  if (symmetric) {
    const t = edges[searchLeft(cdf, percentile / 100)]!;
    lo = -t;
    hi = t;
  } else {
    const cut = (100 - percentile) / 200;
    hi = edges[searchLeft(cdf, 1 - cut)]!;
    lo = edges[searchLeft(cdf, cut)]!;
  }
  if (lo < min) lo = min;
  if (hi > max) hi = max;
  return { min: lo, max: hi };
}
