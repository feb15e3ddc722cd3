/**
 * A baseline JPEG encoder that writes what Pillow (libjpeg-turbo) writes by default, so the digital
 * baseline (metrics/digital.ts) counts the same bytes as the Python reference (models/eval/digital.py):
 * JFIF APP0, two 8-bit quantization tables (Annex K scaled by the IJG quality formula, baseline-clamped),
 * 4:2:0 chroma (libjpeg's h2v2 box downsampling with alternating bias), libjpeg's fixed-point RGB→YCbCr,
 * the standard Huffman tables (no optimization), one interleaved scan. jpeg-js's own encoder writes 4:4:4,
 * whose scans are about a third larger at CIFAR size, which would bias the capacity fit.
 *
 * The DCT is the exact floating-point DCT-II rounded half away from zero; libjpeg's integer (islow) DCT
 * agrees with it except for coefficients that fall within its rounding error of a quantization boundary,
 * so a scan may differ from Pillow's by a few bits (measured on models/samples: see digital.test.ts).
 * Images whose sides are not multiples of 16 are padded by replicating the last row and column.
 */
import type { RgbImage } from './codec.js';
import { AkbError } from '@akb/protocol';

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47,
  55, 62, 63,
];
const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
  87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99,
  99, 99, 99, ...new Array<number>(32).fill(99),
];
// Annex K.3 Huffman tables: code counts per length 1..16, then the symbols.
const DC_LUMA = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], vals: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const DC_CHROMA = { bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], vals: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const AC_LUMA = {
  bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  vals: hex(
    '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa',
  ),
};
const AC_CHROMA = {
  bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  vals: hex(
    '000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa',
  ),
};

function hex(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i += 2) out.push(parseInt(s.slice(i, i + 2), 16));
  return out;
}

interface HuffCodes {
  code: Int32Array;
  size: Int32Array;
}

function buildCodes(t: { bits: number[]; vals: number[] }): HuffCodes {
  const code = new Int32Array(256);
  const size = new Int32Array(256);
  let c = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < t.bits[len - 1]!; i++) {
      code[t.vals[k]!] = c++;
      size[t.vals[k++]!] = len;
    }
    c <<= 1;
  }
  return { code, size };
}
const CODES = [buildCodes(DC_LUMA), buildCodes(AC_LUMA), buildCodes(DC_CHROMA), buildCodes(AC_CHROMA)] as const;

/** The IJG quality scaling (jcparam.c jpeg_quality_scaling + jpeg_add_quant_table, force_baseline). */
export function quantTable(base: readonly number[], quality: number): number[] {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return base.map((b) => Math.min(255, Math.max(1, Math.floor((b * scale + 50) / 100))));
}

// DCT-II basis: COS[u * 8 + x] = C(u)/2 * cos((2x + 1) u π / 16).
const COS = new Float64Array(64);
for (let u = 0; u < 8; u++) for (let x = 0; x < 8; x++) COS[u * 8 + x] = ((u === 0 ? Math.SQRT1_2 : 1) / 2) * Math.cos(((2 * x + 1) * u * Math.PI) / 16);

class BitWriter {
  private bytes: number[] = [];
  private acc = 0;
  private n = 0;
  write(code: number, size: number): void {
    for (let i = size - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((code >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.n = 0;
  }
  /** Pads the last byte with 1 bits, as libjpeg does. */
  finish(): number[] {
    if (this.n > 0) this.write((1 << (8 - this.n)) - 1, 8 - this.n);
    return this.bytes;
  }
}

export interface JpegEncoded {
  /** The whole JFIF file. */
  bytes: Uint8Array;
  /** Bytes of entropy-coded scan data (after the SOS header, before EOI). */
  scanBytes: number;
}

/** Encodes planar RGB in [0, 1] as a baseline 4:2:0 JFIF at `quality` (1-100). */
export function encodeJpeg(image: RgbImage, quality: number): JpegEncoded {
  const { width: w, height: h, data } = image;
  if (!(w > 0 && h > 0 && w <= 65535 && h <= 65535) || data.length !== 3 * w * h) {
    throw new AkbError('BAD_IMAGE', `encodeJpeg: an image of ${w}x${h} with ${data.length} values cannot be encoded`);
  }
  if (!(quality >= 1 && quality <= 100)) throw new AkbError('BAD_INPUT', `encodeJpeg: quality ${quality} is outside 1-100`);
  const qy = quantTable(LUMA_Q, quality);
  const qc = quantTable(CHROMA_Q, quality);
  const pw = Math.ceil(w / 16) * 16;
  const ph = Math.ceil(h / 16) * 16;
  const [Y, Cb, Cr] = toYcc(image, pw, ph);
  const cb = downsample(Cb, pw, ph);
  const cr = downsample(Cr, pw, ph);
  const bw = new BitWriter();
  const pred = [0, 0, 0];
  const block = new Float64Array(64);
  const coef = new Int32Array(64);
  for (let my = 0; my < ph / 16; my++) {
    for (let mx = 0; mx < pw / 16; mx++) {
      for (const [dy, dx] of [[0, 0], [0, 8], [8, 0], [8, 8]] as const) {
        quantize(Y, pw, mx * 16 + dx, my * 16 + dy, qy, block, coef);
        pred[0] = encodeBlock(bw, coef, pred[0]!, 0);
      }
      quantize(cb, pw / 2, mx * 8, my * 8, qc, block, coef);
      pred[1] = encodeBlock(bw, coef, pred[1]!, 2);
      quantize(cr, pw / 2, mx * 8, my * 8, qc, block, coef);
      pred[2] = encodeBlock(bw, coef, pred[2]!, 2);
    }
  }
  const scan = bw.finish();
  const head = headers(w, h, qy, qc);
  const bytes = new Uint8Array(head.length + scan.length + 2);
  bytes.set(head, 0);
  bytes.set(scan, head.length);
  bytes[bytes.length - 2] = 0xff;
  bytes[bytes.length - 1] = 0xd9;
  return { bytes, scanBytes: scan.length };
}

const SCALE = 16;
const fix = (x: number): number => Math.round(x * (1 << SCALE));
const HALF = 1 << (SCALE - 1);
const OFFSET = 128 << SCALE;

/** jccolor.c's fixed-point conversion of 8-bit RGB, padded to pw x ph by edge replication. */
function toYcc(image: RgbImage, pw: number, ph: number): [Uint8Array, Uint8Array, Uint8Array] {
  const { width: w, height: h, data } = image;
  const n = w * h;
  const out = [new Uint8Array(pw * ph), new Uint8Array(pw * ph), new Uint8Array(pw * ph)] as [Uint8Array, Uint8Array, Uint8Array];
  const u8 = (v: number): number => Math.min(255, Math.max(0, Math.round(v * 255)));
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(y, h - 1);
    for (let x = 0; x < pw; x++) {
      const i = sy * w + Math.min(x, w - 1);
      const r = u8(data[i]!);
      const g = u8(data[n + i]!);
      const b = u8(data[2 * n + i]!);
      const o = y * pw + x;
      out[0][o] = (fix(0.299) * r + fix(0.587) * g + fix(0.114) * b + HALF) >> SCALE;
      out[1][o] = (-fix(0.16874) * r - fix(0.33126) * g + fix(0.5) * b + OFFSET + HALF - 1) >> SCALE;
      out[2][o] = (fix(0.5) * r - fix(0.41869) * g - fix(0.08131) * b + OFFSET + HALF - 1) >> SCALE;
    }
  }
  return out;
}

/** jcsample.c h2v2_downsample: 2x2 box average, bias 1, 2, 1, 2, ... along each output row. */
function downsample(p: Uint8Array, pw: number, ph: number): Uint8Array {
  const ow = pw / 2;
  const out = new Uint8Array(ow * (ph / 2));
  for (let y = 0; y < ph / 2; y++) {
    for (let x = 0; x < ow; x++) {
      const a = (2 * y) * pw + 2 * x;
      out[y * ow + x] = (p[a]! + p[a + 1]! + p[a + pw]! + p[a + pw + 1]! + 1 + (x & 1)) >> 2;
    }
  }
  return out;
}

function quantize(plane: Uint8Array, stride: number, x0: number, y0: number, q: number[], block: Float64Array, coef: Int32Array): void {
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block[y * 8 + x] = plane[(y0 + y) * stride + x0 + x]! - 128;
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let y = 0; y < 8; y++) {
        let r = 0;
        for (let x = 0; x < 8; x++) r += COS[u * 8 + x]! * block[y * 8 + x]!;
        s += COS[v * 8 + y]! * r;
      }
      const d = s / q[v * 8 + u]!;
      coef[v * 8 + u] = Math.sign(d) * Math.floor(Math.abs(d) + 0.5);
    }
  }
}

function magnitude(v: number): [number, number] {
  const a = Math.abs(v);
  let n = 0;
  while (a >> n) n++;
  return [n, v < 0 ? v + (1 << n) - 1 : v];
}

/** Huffman-codes one quantized block (natural order); returns its DC for the next prediction. */
function encodeBlock(bw: BitWriter, coef: Int32Array, pred: number, table: 0 | 2): number {
  const dc = CODES[table];
  const ac = CODES[table + 1]!;
  const [dn, dbits] = magnitude(coef[0]! - pred);
  bw.write(dc.code[dn]!, dc.size[dn]!);
  if (dn > 0) bw.write(dbits, dn);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = coef[ZIGZAG[k]!]!;
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      bw.write(ac.code[0xf0]!, ac.size[0xf0]!);
      run -= 16;
    }
    const [n, bits] = magnitude(v);
    const sym = (run << 4) | n;
    bw.write(ac.code[sym]!, ac.size[sym]!);
    bw.write(bits, n);
    run = 0;
  }
  if (run > 0) bw.write(ac.code[0]!, ac.size[0]!);
  return coef[0]!;
}

function headers(w: number, h: number, qy: number[], qc: number[]): number[] {
  const seg = (marker: number, body: number[]): number[] => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
  const dqt = (id: number, t: number[]): number[] => seg(0xdb, [id, ...ZIGZAG.map((z) => t[z]!)]);
  const dht = (cls: number, id: number, t: { bits: number[]; vals: number[] }): number[] => seg(0xc4, [(cls << 4) | id, ...t.bits, ...t.vals]);
  return [
    0xff, 0xd8,
    ...seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    ...dqt(0, qy),
    ...dqt(1, qc),
    ...seg(0xc0, [8, h >> 8, h & 255, w >> 8, w & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]),
    ...dht(0, 0, DC_LUMA),
    ...dht(1, 0, AC_LUMA),
    ...dht(0, 1, DC_CHROMA),
    ...dht(1, 1, AC_CHROMA),
    ...seg(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]),
  ];
}
