import { describe, expect, it } from 'vitest';
import { besselJ0, jakesCorrelation } from './bessel.js';

describe('besselJ0', () => {
  // Reference values from scipy.special.j0 (and Abramowitz & Stegun table 9.1).
  const known: [number, number][] = [
    [0, 1],
    [0.5, 0.938469807240813],
    [1, 0.7651976865579666],
    [2, 0.22389077914123562],
    [5, -0.1775967713143383],
    [8, 0.1716508071375539],
    [10, -0.24593576445134832],
    [12, 0.04768931079683335],
    [12.5, 0.14688405470042093],
    [20, 0.16702466434058322],
    [50, 0.055812327669252086],
    [100, 0.01998585030422333],
  ];

  it.each(known)('J0(%d) matches the reference to 1e-11', (x, j0) => {
    expect(Math.abs(besselJ0(x) - j0)).toBeLessThan(1e-11);
    expect(besselJ0(-x)).toBe(besselJ0(x)); // even function
  });

  it('has its first zero at 2.404825557695773 and stays accurate on both sides of x = 12 (series | asymptotic)', () => {
    expect(Math.abs(besselJ0(2.404825557695773))).toBeLessThan(1e-13);
    expect(Math.abs(besselJ0(11.999) - 0.04746583057345688)).toBeLessThan(1e-11);
    expect(Math.abs(besselJ0(12.001) - 0.04791272471031469)).toBeLessThan(1e-11);
  });

  it('is 0 at infinity and NaN for NaN', () => {
    expect(besselJ0(Number.POSITIVE_INFINITY)).toBe(0);
    expect(besselJ0(Number.NaN)).toBeNaN();
  });

  it('gives the Jakes correlation J0(2π fD T): 1 without Doppler, 0.90371 at fD T = 0.1', () => {
    expect(jakesCorrelation(0, 1e-3)).toBe(1);
    expect(Math.abs(jakesCorrelation(100, 1e-3) - 0.9037126420924663)).toBeLessThan(1e-12);
  });
});
