/**
 * A batch of tiles (N x 3 x T x T) with each tile's source complexity and its channel KB bin. Rows are
 * filled one tile at a time from any image, so one batch can hold the last tiles of one image and the
 * first of the next. The buffers have a fixed capacity (the encoder's batch), so the memory does not
 * grow with the image: a 768 x 512 image goes through in chunks.
 */
import { extractTile, type RgbImage, type TileGrid } from '@akb/jscc';
import { complexityBin, tileComplexity } from '../policy/state.js';

export class TileBatch {
  readonly tiles: Float32Array<ArrayBuffer>;
  readonly complexity: Float32Array;
  readonly cbins: Uint8Array;
  count = 0;
  private readonly grey: Float32Array;
  private readonly tileValues: number;

  constructor(
    readonly tile: number,
    /** Upper edges between complexity bins (empty: everything in bin 0). */
    private readonly edges: readonly number[],
    readonly capacity: number,
  ) {
    this.grey = new Float32Array(tile * tile);
    this.tileValues = 3 * tile * tile;
    this.tiles = new Float32Array(capacity * this.tileValues);
    this.complexity = new Float32Array(capacity);
    this.cbins = new Uint8Array(capacity);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  clear(): this {
    this.count = 0;
    return this;
  }

  /** Appends tile `index` of `image` (cut on `grid`); returns its row. */
  push(image: RgbImage, grid: TileGrid, index: number): number {
    if (this.full) throw new RangeError(`the tile batch holds ${this.capacity} tiles`);
    const row = this.count++;
    const at = row * this.tileValues;
    this.extract(image, grid, index, at);
    const c = tileComplexity(this.tiles, at, this.tile, this.grey);
    this.complexity[row] = c;
    this.cbins[row] = complexityBin(c, this.edges);
    return row;
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
