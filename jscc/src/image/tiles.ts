/**
 * Tiling: a model takes fixed-size inputs (32x32 for the reference models), so a large image is cut into
 * tiles, padded at the right and bottom edges by replicating the last row and column, and reassembled
 * after decoding with the padding cropped away.
 */
import type { RgbImage } from './codec.js';

export interface TileGrid {
  readonly width: number;
  readonly height: number;
  readonly tile: number;
  readonly cols: number;
  readonly rows: number;
}

export function tileGrid(width: number, height: number, tile: number): TileGrid {
  return { width, height, tile, cols: Math.ceil(width / tile), rows: Math.ceil(height / tile) };
}

/** Tile `index` (row-major) as planar RGB, tile x tile. */
export function extractTile(image: RgbImage, grid: TileGrid, index: number, out = new Float32Array(3 * grid.tile * grid.tile)): Float32Array {
  const { tile, cols } = grid;
  const x0 = (index % cols) * tile;
  const y0 = Math.floor(index / cols) * tile;
  const n = image.width * image.height;
  const t2 = tile * tile;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < tile; y++) {
      const sy = Math.min(y0 + y, image.height - 1);
      for (let x = 0; x < tile; x++) {
        const sx = Math.min(x0 + x, image.width - 1);
        out[c * t2 + y * tile + x] = image.data[c * n + sy * image.width + sx]!;
      }
    }
  }
  return out;
}

/** Writes a decoded tile back into `image` (which has the grid's size), cropping the padding. */
export function placeTile(image: { width: number; height: number; data: Float32Array }, grid: TileGrid, index: number, tileData: Float32Array): void {
  const { tile, cols } = grid;
  const x0 = (index % cols) * tile;
  const y0 = Math.floor(index / cols) * tile;
  const n = image.width * image.height;
  const t2 = tile * tile;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < tile && y0 + y < image.height; y++) {
      for (let x = 0; x < tile && x0 + x < image.width; x++) {
        image.data[c * n + (y0 + y) * image.width + x0 + x] = tileData[c * t2 + y * tile + x]!;
      }
    }
  }
}

export function tileCount(grid: TileGrid): number {
  return grid.cols * grid.rows;
}
