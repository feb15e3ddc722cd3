/**
 * The digital baseline, as models/eval/digital.py computes it: each image is sent as a JPEG at the largest
 * quality whose size fits the channel's capacity, log2(1 + SNR) bits per complex channel use times the
 * channel uses (Shannon's bound: no real channel code does better, so this flatters the digital side);
 * when even quality 1 does not fit, the receiver shows a grey image (0.5). Two ways to count the size:
 * `jpeg-file` (the whole JFIF as Pillow writes it: 625 bytes of markers and tables plus the scan) and
 * `jpeg-payload` (the entropy-coded scan plus one byte for the quality; both ends know the tables).
 * Block Rayleigh: the quality is picked for the mean SNR; the frame is lost (grey) when the image's
 * instantaneous capacity log2(1 + |h|² SNR) × uses falls short, |h|² = (g1² + g2²) / 2 drawn once per
 * image from the seeded RNG (the Python draws from numpy's generator, so single draws differ; the law
 * is the same).
 *
 * The JPEGs come from jscc's own 4:2:0 encoder (image/jpeg-encode.ts, Pillow's layout and tables) and are
 * decoded with libjpeg's colour (image/codec.ts); PSNR clamps the MSE at 1e-10 and SSIM is metrics/ssim.ts,
 * as the Python metrics do.
 */
import { AkbError, gaussian, seededRandom } from '@akb/protocol';
import { decodeImage, type RgbImage } from '../image/codec.js';
import { encodeJpeg } from '../image/jpeg-encode.js';
import { ssim } from './ssim.js';

/** digital.py's quality ladder. */
export const DIGITAL_QUALITIES: readonly number[] = [...Array.from({ length: 20 }, (_, i) => i + 1), ...Array.from({ length: 16 }, (_, i) => 25 + 5 * i)];
/** Bytes of a Pillow JFIF that are not scan data (SOI, APP0, 2 DQT, SOF0, 4 DHT, SOS header, EOI). */
export const JPEG_OVERHEAD_BYTES = 625;

export type DigitalCount = 'jpeg-payload' | 'jpeg-file';
export type DigitalChannel = 'awgn' | 'rayleigh';

/** Per image and quality (rows: images, columns: DIGITAL_QUALITIES): sizes in bits and the decode's quality. */
export interface JpegTable {
  fileBits: number[][];
  payloadBits: number[][];
  psnr: number[][];
  ssim: number[][];
  greyPsnr: number[];
  greySsim: number[];
}

export interface DigitalOptions {
  images: readonly RgbImage[];
  snrsDb: readonly number[];
  /** Channel uses per image (complex symbols), as the compared variants spend. */
  channelUses: number;
  channel: DigitalChannel;
  count?: DigitalCount;
  /** Seed of the Rayleigh draws (unused for AWGN). */
  seed?: number;
  /** A table made before (jpegTable) for the same images, to skip the encoding. */
  table?: JpegTable;
}

export interface DigitalRowResult {
  snrDb: number;
  n: number;
  psnrMean: number | null;
  ssimMean: number | null;
  /** Images shown grey: nothing fitted, or (Rayleigh) the frame was lost in a fade. */
  failed: number;
  /** Images for which some quality fitted the capacity at the (mean) SNR. */
  fitted: number;
  /** Mean JPEG quality of the fitted images; null when none fitted. */
  meanQuality: number | null;
}

const clampedPsnr = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10(1 / Math.max(s / a.length, 1e-10));
};

/** Shannon capacity of `uses` complex channel uses at `snrDb`, in bits. */
export function capacityBits(snrDb: number, uses: number, gain = 1): number {
  return Math.log2(1 + gain * 10 ** (snrDb / 10)) * uses;
}

/** Encodes every image at every quality of the ladder and measures the decodes. */
export async function jpegTable(images: readonly RgbImage[]): Promise<JpegTable> {
  const t: JpegTable = { fileBits: [], payloadBits: [], psnr: [], ssim: [], greyPsnr: [], greySsim: [] };
  for (const [k, im] of images.entries()) {
    const fb: number[] = [];
    const pb: number[] = [];
    const p: number[] = [];
    const s: number[] = [];
    for (const q of DIGITAL_QUALITIES) {
      const enc = encodeJpeg(im, q);
      fb.push(enc.bytes.length * 8);
      pb.push((enc.scanBytes + 1) * 8);
      const dec = await decodeImage(enc.bytes, `digital baseline: image ${k} at quality ${q}`);
      p.push(clampedPsnr(dec.data, im.data));
      s.push(ssim(dec.data, im.data, im.width, im.height));
    }
    t.fileBits.push(fb);
    t.payloadBits.push(pb);
    t.psnr.push(p);
    t.ssim.push(s);
    const grey = new Float32Array(im.data.length).fill(0.5);
    t.greyPsnr.push(clampedPsnr(grey, im.data));
    t.greySsim.push(ssim(grey, im.data, im.width, im.height));
  }
  return t;
}

/** Index into DIGITAL_QUALITIES of the largest quality whose size fits, -1 when none does. */
export function pickQuality(bits: readonly number[], capacity: number): number {
  for (let q = bits.length - 1; q >= 0; q--) if (bits[q]! <= capacity) return q;
  return -1;
}

/** The baseline at each SNR: mean PSNR and SSIM over the images, and how many were shown grey. */
export async function digitalBaseline(o: DigitalOptions): Promise<DigitalRowResult[]> {
  if (o.channel !== 'awgn' && o.channel !== 'rayleigh') {
    throw new AkbError('BAD_INPUT', `digital baseline: channel "${String(o.channel)}" is not modelled (awgn or rayleigh)`);
  }
  if (!Number.isInteger(o.channelUses) || o.channelUses <= 0) {
    throw new AkbError('BAD_INPUT', `digital baseline: channelUses must be a positive integer (got ${o.channelUses})`);
  }
  for (const s of o.snrsDb) if (!Number.isFinite(s)) throw new AkbError('BAD_INPUT', `digital baseline: SNR ${s} dB is not a number`);
  const table = o.table ?? (await jpegTable(o.images));
  const n = table.psnr.length;
  const bits = (o.count ?? 'jpeg-payload') === 'jpeg-file' ? table.fileBits : table.payloadBits;
  // One fade per image, the same at every SNR (as digital.py draws h2 once).
  const random = seededRandom(o.seed ?? 11);
  const h2 = Array.from({ length: n }, () => (gaussian(random) ** 2 + gaussian(random) ** 2) / 2);
  return o.snrsDb.map((snrDb) => {
    let p = 0;
    let s = 0;
    let failed = 0;
    let fitted = 0;
    let qSum = 0;
    const capTx = capacityBits(snrDb, o.channelUses);
    for (let i = 0; i < n; i++) {
      const qi = pickQuality(bits[i]!, capTx);
      const capRx = o.channel === 'awgn' ? capTx : capacityBits(snrDb, o.channelUses, h2[i]);
      if (qi >= 0) {
        fitted++;
        qSum += DIGITAL_QUALITIES[qi]!;
      }
      if (qi >= 0 && bits[i]![qi]! <= capRx) {
        p += table.psnr[i]![qi]!;
        s += table.ssim[i]![qi]!;
      } else {
        failed++;
        p += table.greyPsnr[i]!;
        s += table.greySsim[i]!;
      }
    }
    return {
      snrDb,
      n,
      psnrMean: n === 0 ? null : p / n,
      ssimMean: n === 0 ? null : s / n,
      failed,
      fitted,
      meanQuality: fitted === 0 ? null : qSum / fitted,
    };
  });
}
