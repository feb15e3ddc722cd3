/**
 * The Bessel function of the first kind of order zero, J0, for Jakes' (Clarke's) fading correlation:
 * the autocorrelation of a Rayleigh channel at lag τ with maximum Doppler fD is J0(2π fD τ).
 */

/** Where the power series stops and the asymptotic (Hankel) expansion takes over. */
const SERIES_LIMIT = 12;

/**
 * J0(x) for any real x, to about 1e-12 absolute: the power series Σ (-x²/4)^k / (k!)² below |x| = 12
 * (its largest term there is ~4e3, so rounding costs ~1e-12), and Hankel's asymptotic expansion above
 * (summed to its smallest term, ~e^-2|x| < 1e-10).
 */
export function besselJ0(x: number): number {
  const ax = Math.abs(x);
  if (!Number.isFinite(ax)) return Number.isNaN(ax) ? Number.NaN : 0;
  return ax < SERIES_LIMIT ? series(ax) : asymptotic(ax);
}

function series(x: number): number {
  const q = -(x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.max(1, Math.abs(sum))) break;
  }
  return sum;
}

/**
 * J0(x) = sqrt(2 / (π x)) (P cos χ − Q sin χ), χ = x − π/4, with b_k = Π_{j≤k} (2j−1)² / (k! 8^k)
 * (|a_k(0)| in the usual notation): P = b0 − b2/x² + b4/x⁴ − …, Q = −b1/x + b3/x³ − …; the sums stop
 * where the terms start growing.
 */
function asymptotic(x: number): number {
  let p = 0;
  let q = 0;
  let term = 1; // a_k / x^k
  let previous = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 100; k++) {
    if (k > 0) term *= ((2 * k - 1) * (2 * k - 1)) / (8 * k * x);
    const magnitude = Math.abs(term);
    if (magnitude > previous || magnitude < 1e-18) break;
    previous = magnitude;
    const sign = (k >> 1) % 2 === 0 ? 1 : -1;
    if (k % 2 === 0) p += sign * term;
    else q -= sign * term;
  }
  const chi = x - Math.PI / 4;
  return Math.sqrt(2 / (Math.PI * x)) * (p * Math.cos(chi) - q * Math.sin(chi));
}

/**
 * The lag-T correlation of Jakes' fading, rho = J0(2π fD T): maximum Doppler `dopplerHz` (Hz), lag
 * `stepS` (seconds).
 */
export function jakesCorrelation(dopplerHz: number, stepS: number): number {
  return besselJ0(2 * Math.PI * dopplerHz * stepS);
}
