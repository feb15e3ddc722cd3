/**
 * Small Hermitian positive-definite systems (the multipath estimate's normal equations and the MMSE
 * equalizer's covariance, at most 32 × 32): Cholesky factor A = L·Lᴴ once, then solves by substitution.
 * Matrices and vectors are complex, interleaved re,im, row-major.
 */

export class HermitianCholesky {
  /** The lower factor L, interleaved re,im (n × n; the diagonal is real). */
  private readonly l: Float64Array;

  private constructor(readonly n: number, l: Float64Array) {
    this.l = l;
  }

  /** The factor of `a` (n × n), or undefined when `a` is not positive definite (or holds NaN). */
  static factor(a: Float64Array, n: number): HermitianCholesky | undefined {
    const l = new Float64Array(2 * n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        // s = A[i][j] − Σ_k L[i][k]·conj(L[j][k])
        let sr = a[2 * (i * n + j)]!;
        let si = a[2 * (i * n + j) + 1]!;
        for (let k = 0; k < j; k++) {
          const ar = l[2 * (i * n + k)]!;
          const ai = l[2 * (i * n + k) + 1]!;
          const br = l[2 * (j * n + k)]!;
          const bi = l[2 * (j * n + k) + 1]!;
          sr -= ar * br + ai * bi;
          si -= ai * br - ar * bi;
        }
        if (i === j) {
          if (!(sr > 0)) return undefined;
          l[2 * (i * n + i)] = Math.sqrt(sr);
        } else {
          const djj = l[2 * (j * n + j)]!;
          l[2 * (i * n + j)] = sr / djj;
          l[2 * (i * n + j) + 1] = si / djj;
        }
      }
    }
    return new HermitianCholesky(n, l);
  }

  /** x with A·x = b (b: n complex values). */
  solve(b: Float64Array): Float64Array {
    const { n, l } = this;
    const y = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      let sr = b[2 * i]!;
      let si = b[2 * i + 1]!;
      for (let k = 0; k < i; k++) {
        const lr = l[2 * (i * n + k)]!;
        const li = l[2 * (i * n + k) + 1]!;
        sr -= lr * y[2 * k]! - li * y[2 * k + 1]!;
        si -= lr * y[2 * k + 1]! + li * y[2 * k]!;
      }
      const d = l[2 * (i * n + i)]!;
      y[2 * i] = sr / d;
      y[2 * i + 1] = si / d;
    }
    for (let i = n - 1; i >= 0; i--) {
      let sr = y[2 * i]!;
      let si = y[2 * i + 1]!;
      for (let k = i + 1; k < n; k++) {
        // conj(L[k][i]) · x_k
        const lr = l[2 * (k * n + i)]!;
        const li = l[2 * (k * n + i) + 1]!;
        sr -= lr * y[2 * k]! + li * y[2 * k + 1]!;
        si -= lr * y[2 * k + 1]! - li * y[2 * k]!;
      }
      const d = l[2 * (i * n + i)]!;
      y[2 * i] = sr / d;
      y[2 * i + 1] = si / d;
    }
    return y;
  }
}
