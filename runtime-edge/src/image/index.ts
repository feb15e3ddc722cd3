/** Image decoding and tiling without the rest of the runtime (`@akb/edge/image`), e.g. for the quantizer's calibration data. */
export { decodeImage, encodePng, MAX_PIXELS, type RgbImage } from './codec.js';
export { fancyUpsample, jpegLayout, ycbcrToPlanarRgb, type JpegLayout } from './jpeg.js';
export { extractTile, placeTile, tileCount, tileGrid, type TileGrid } from './tiles.js';
export { mse, psnr } from './quality.js';
