/**
 * The tiles of one image as one batch (N x 3 x T x T) with each tile's source complexity and its channel
 * KB bin. The buffers grow to the largest image seen and are reused, so a steady stream of images of one
 * size allocates nothing here.
 */
import type { RgbImage } from '../image/codec.js';
import { extractTile, tileCount, tileGrid, type TileGrid } from '../image/tiles.js';
import { complexityBin, tileComplexity } from '../policy/state.js';

export class TileBatch {
  tiles = new Float32Array(0);
  complexity = new Float32Array(0);
  cbins = new Uint8Array(0);
  count = 0;
  grid: TileGrid | undefined;
  private readonly grey: Float32Array;
  private readonly tileValues: number;

  constructor(
    readonly tile: number,
    /** Upper edges between complexity bins (empty: everything in bin 0). */
    private readonly edges: readonly number[],
  ) {
    this.grey = new Float32Array(tile * tile);
    this.tileValues = 3 * tile * tile;
  }

  fill(image: RgbImage): this {
    const grid = tileGrid(image.width, image.height, this.tile);
    const n = tileCount(grid);
    if (n > this.cbins.length) {
      const cap = Math.max(n, 2 * this.cbins.length);
      this.tiles = new Float32Array(cap * this.tileValues);
      this.complexity = new Float32Array(cap);
      this.cbins = new Uint8Array(cap);
    }
    for (let i = 0; i < n; i++) {
      const at = i * this.tileValues;
      this.extract(image, grid, i, at);
      const c = tileComplexity(this.tiles, at, this.tile, this.grey);
      this.complexity[i] = c;
      this.cbins[i] = complexityBin(c, this.edges);
    }
    this.count = n;
    this.grid = grid;
    return this;
  }

  /** Copies tile i to `at`: a plain row copy inside the image, extractTile's edge replication at its borders. */
  private extract(image: RgbImage, grid: TileGrid, i: number, at: number): void {
    const T = this.tile;
    const x0 = (i % grid.cols) * T;
    const y0 = Math.floor(i / grid.cols) * T;
    const W = image.width;
    if (x0 + T > W || y0 + T > image.height) {
      extractTile(image, grid, i, this.tiles.subarray(at, at + this.tileValues));
      return;
    }
    const src = image.data;
    const dst = this.tiles;
    const plane = W * image.height;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < T; y++) {
        const s = c * plane + (y0 + y) * W + x0;
        const d = at + (c * T + y) * T;
        for (let x = 0; x < T; x++) dst[d + x] = src[s + x]!;
      }
    }
  }
}
