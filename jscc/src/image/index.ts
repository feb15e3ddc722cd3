/** Image decoding and tiling (`@akb/jscc/image`), light enough for tools that need nothing else, e.g. the quantizer's calibration data. */
export { decodeImage, encodePng, MAX_PIXELS, type RgbImage } from './codec.js';
export { encodeJpeg, quantTable, type JpegEncoded } from './jpeg-encode.js';
export { fancyUpsample, jpegLayout, ycbcrToPlanarRgb, type JpegLayout } from './jpeg.js';
export { extractTile, placeTile, tileCount, tileGrid, type TileGrid } from './tiles.js';
