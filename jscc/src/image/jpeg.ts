/**
 * JPEG to RGB the way libjpeg(-turbo) does it, on top of jpeg-js's entropy decoding and IDCT.
 *
 * The reference models were trained on images decoded by libjpeg-turbo (PIL), whose default is "fancy"
 * chroma upsampling (a triangle filter) and fixed-point YCbCr conversion. jpeg-js replicates chroma
 * samples instead: on CIFAR-10's 4:2:0 JPEGs its RGB differs from libjpeg's by 1.9 levels on average and
 * up to 59 at colour edges, which cost the loop 0.15-0.2 dB of PSNR against the Python evaluation.
 * So jpeg-js is asked for the raw Y, Cb, Cr planes (its replicated chroma is exact: each native chroma
 * sample repeated), the native chroma is read back from them, and libjpeg's h2v1/h2v2 fancy upsampling
 * and integer colour conversion are applied here (jdsample.c, jdcolor.c). Other subsamplings keep
 * jpeg-js's replication.
 */

export interface JpegLayout {
  components: { id: number; h: number; v: number }[];
  maxH: number;
  maxV: number;
}

/** Sampling factors from the frame header (SOF0-SOF2); undefined when no frame header is found. */
export function jpegLayout(bytes: Uint8Array): JpegLayout | undefined {
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xc2) {
      const at = i + 4;
      const n = bytes[at + 5];
      if (n === undefined || at + 6 + 3 * n > bytes.length) return undefined;
      const components = [];
      for (let k = 0; k < n; k++) {
        const f = bytes[at + 7 + 3 * k]!;
        components.push({ id: bytes[at + 6 + 3 * k]!, h: f >> 4, v: f & 15 });
      }
      return { components, maxH: Math.max(...components.map((c) => c.h)), maxV: Math.max(...components.map((c) => c.v)) };
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan before any frame header
    i += 2 + length;
  }
  return undefined;
}

const SCALE = 16;
const HALF = 1 << (SCALE - 1);
const fix = (x: number): number => Math.round(x * (1 << SCALE));
// jdcolor.c's tables: R = Y + 1.402 Cr', G = Y - 0.34414 Cb' - 0.71414 Cr', B = Y + 1.772 Cb' (C' = C - 128).
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + HALF) >> SCALE;
  CB_B[i] = (fix(1.772) * x + HALF) >> SCALE;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + HALF;
}
const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * Planar RGB in [0, 1] from jpeg-js's un-transformed 3-channel output (`colorTransform: false`, RGB
 * layout, chroma replicated), with libjpeg's chroma upsampling where the subsampling is h2v1 or h2v2.
 */
export function ycbcrToPlanarRgb(ycc: Uint8Array, width: number, height: number, layout: JpegLayout | undefined): Float32Array {
  const n = width * height;
  const cb = new Uint8Array(n);
  const cr = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    cb[i] = ycc[3 * i + 1]!;
    cr[i] = ycc[3 * i + 2]!;
  }
  const luma = layout?.components[0];
  const chroma = layout?.components[1];
  const sameChroma = layout && layout.components.length === 3 && chroma!.h === layout.components[2]!.h && chroma!.v === layout.components[2]!.v;
  if (layout && luma && chroma && sameChroma && chroma.h === 1 && chroma.v === 1 && luma.h === 2 && (luma.v === 1 || luma.v === 2)) {
    fancyUpsample(cb, width, height, luma.v === 2);
    fancyUpsample(cr, width, height, luma.v === 2);
  }
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const y = ycc[3 * i]!;
    const b = cb[i]!;
    const r = cr[i]!;
    out[i] = clamp(y + CR_R[r]!) / 255;
    out[n + i] = clamp(y + ((CB_G[b]! + CR_G[r]!) >> SCALE)) / 255;
    out[2 * n + i] = clamp(y + CB_B[b]!) / 255;
  }
  return out;
}

/**
 * Replaces a replicated chroma plane (full size, each native sample repeated 2x1 or 2x2) by libjpeg's
 * fancy upsampling of the native samples: h2v1 (3/4, 1/4 horizontally) or h2v2 (9/16, 3/16, 3/16, 1/16),
 * with libjpeg's alternating rounding biases and replicated edges.
 */
export function fancyUpsample(plane: Uint8Array, width: number, height: number, vertical: boolean): void {
  const cw = (width + 1) >> 1;
  const ch = vertical ? (height + 1) >> 1 : height;
  const native = new Int32Array(cw * ch);
  for (let r = 0; r < ch; r++) for (let c = 0; c < cw; c++) native[r * cw + c] = plane[(vertical ? 2 * r : r) * width + 2 * c]!;
  const colsum = new Int32Array(cw);
  for (let y = 0; y < height; y++) {
    const row = plane.subarray(y * width, (y + 1) * width);
    if (!vertical) {
      h2v1Row(native.subarray(y * cw, (y + 1) * cw), row, width);
      continue;
    }
    const r = y >> 1;
    // The upper output row of a pair blends with the native row above, the lower with the one below.
    const other = y & 1 ? Math.min(ch - 1, r + 1) : Math.max(0, r - 1);
    for (let c = 0; c < cw; c++) colsum[c] = 3 * native[r * cw + c]! + native[other * cw + c]!;
    h2v2Row(colsum, row, width);
  }
}

function h2v1Row(inp: Int32Array, out: Uint8Array, width: number): void {
  const cw = inp.length;
  if (cw === 1) {
    out.fill(inp[0]!);
    return;
  }
  for (let c = 0; c < cw; c++) {
    const v = 3 * inp[c]!;
    const left = c === 0 ? inp[0]! : (v + inp[c - 1]! + 1) >> 2;
    const right = c === cw - 1 ? inp[c]! : (v + inp[c + 1]! + 2) >> 2;
    out[2 * c] = c === 0 ? inp[0]! : left;
    if (2 * c + 1 < width) out[2 * c + 1] = right;
  }
}

function h2v2Row(sum: Int32Array, out: Uint8Array, width: number): void {
  const cw = sum.length;
  if (cw === 1) {
    out[0] = (sum[0]! * 4 + 8) >> 4;
    if (width > 1) out[1] = (sum[0]! * 4 + 7) >> 4;
    return;
  }
  for (let c = 0; c < cw; c++) {
    const v = 3 * sum[c]!;
    out[2 * c] = c === 0 ? (sum[0]! * 4 + 8) >> 4 : (v + sum[c - 1]! + 8) >> 4;
    if (2 * c + 1 < width) out[2 * c + 1] = c === cw - 1 ? (sum[c]! * 4 + 7) >> 4 : (v + sum[c + 1]! + 7) >> 4;
  }
}
