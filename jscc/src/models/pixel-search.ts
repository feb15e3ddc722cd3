/**
 * Exact nearest-prior search for a pixel KB (the fixed-rate AKB-JSCC's k-means KB): the entry whose prior
 * has the least squared error to a 3 x 32 x 32 image, as models/train/fixed_kb.py picks it, without
 * computing all K full distances.
 *
 * Bound: for any block of n values, sum (x - p)^2 >= n (mean(x) - mean(p))^2 (Cauchy-Schwarz), so the
 * distance of the 4 x 4 block means (192 per image), times 16, is a lower bound on the full distance. The
 * priors' block means are computed once; per image, every entry's bound costs 192 products, and entries
 * are then visited in order of their bound until the bound exceeds the best full distance found. The
 * result is the brute-force argmin (ties: the lowest entry), bounds being compared with a margin far above
 * the rounding of float64 sums.
 */

const SIDE = 32;
const BLOCK = 4;
const PER_SIDE = SIDE / BLOCK;
/** Block means per image: 3 channels x 8 x 8. */
const BLOCKS = 3 * PER_SIDE * PER_SIDE;
const VALUES = 3 * SIDE * SIDE;
/** Relative margin on the bound: sums of 3072 float64 products round far below this. */
const MARGIN = 1e-9;

export interface PixelSearch {
  /** The entry of least squared error to `image` (3 x 32 x 32 planar, read at `offset`), and that error. */
  nearest(image: Float32Array, offset?: number): { entry: number; distance: number };
}

/** `priors`: K x 3 x 32 x 32 planar values. */
export function pixelSearch(priors: Float32Array, K: number): PixelSearch {
  const means = new Float64Array(K * BLOCKS);
  for (let k = 0; k < K; k++) blockMeans(priors, k * VALUES, means, k * BLOCKS);
  const query = new Float64Array(BLOCKS);
  const bounds = new Float64Array(K);
  const order = new Uint32Array(K);
  return {
    nearest(image, offset = 0) {
      blockMeans(image, offset, query, 0);
      for (let k = 0; k < K; k++) {
        let b = 0;
        const at = k * BLOCKS;
        for (let j = 0; j < BLOCKS; j++) {
          const t = query[j]! - means[at + j]!;
          b += t * t;
        }
        bounds[k] = b * BLOCK * BLOCK;
        order[k] = k;
      }
      order.sort((a, c) => bounds[a]! - bounds[c]! || a - c);
      let best = -1;
      let bestD = Number.POSITIVE_INFINITY;
      for (let r = 0; r < K; r++) {
        const k = order[r]!;
        if (bounds[k]! > bestD * (1 + MARGIN) + 1e-12) break;
        const at = k * VALUES;
        let d = 0;
        for (let j = 0; j < VALUES; j++) {
          const t = image[offset + j]! - priors[at + j]!;
          d += t * t;
        }
        if (d < bestD || (d === bestD && k < best)) {
          bestD = d;
          best = k;
        }
      }
      return { entry: best, distance: bestD };
    },
  };
}

function blockMeans(src: Float32Array, from: number, out: Float64Array, at: number): void {
  out.fill(0, at, at + BLOCKS);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < SIDE; y++) {
      const row = from + c * SIDE * SIDE + y * SIDE;
      const base = at + c * PER_SIDE * PER_SIDE + ((y / BLOCK) | 0) * PER_SIDE;
      for (let x = 0; x < SIDE; x++) {
        const j = base + ((x / BLOCK) | 0);
        out[j] = out[j]! + src[row + x]!;
      }
    }
  }
  for (let j = at; j < at + BLOCKS; j++) out[j] = out[j]! / (BLOCK * BLOCK);
}
