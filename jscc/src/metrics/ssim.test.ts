import { describe, expect, it } from 'vitest';
import { ssim } from './ssim.js';

const W = 23;
const H = 17;
/** The same deterministic pair the reference value was computed on (numpy, float64, models/common/metrics.py's formula). */
function pair(): [Float32Array, Float32Array] {
  const a = new Float32Array(3 * W * H);
  const b = new Float32Array(3 * W * H);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = c * W * H + y * W + x;
        a[i] = (((c * 7 + y * W + x) * 37) % 101) / 100;
        b[i] = Math.min(1, Math.max(0, Math.fround(a[i] + Math.fround(0.05 * Math.sin(c + y * 0.7 + x * 1.3)))));
      }
    }
  }
  return [a, b];
}

describe('ssim', () => {
  it('is 1 for identical images and matches the reference evaluation on a perturbed pair', () => {
    const [a, b] = pair();
    expect(ssim(a, a, W, H)).toBeCloseTo(1, 12);
    // numpy reference: 11x11 Gaussian (σ 1.5), valid region, C1 = 0.01², C2 = 0.03², mean over channels
    // and positions = 0.9929141375065264; float64 sums in another order agree to ~1e-12.
    expect(ssim(a, b, W, H)).toBeCloseTo(0.9929141375065264, 9);
    expect(ssim(b, a, W, H)).toBeCloseTo(ssim(a, b, W, H), 12);
  });

  it('refuses mismatched sizes and images smaller than the window', () => {
    const [a] = pair();
    expect(() => ssim(a, a.subarray(1), W, H)).toThrow(/must be 3 x 17 x 23/);
    expect(() => ssim(new Float32Array(3 * 10 * 10), new Float32Array(3 * 10 * 10), 10, 10)).toThrow(/at least 11 x 11/);
  });
});
