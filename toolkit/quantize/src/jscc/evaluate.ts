/**
 * PSNR of a JSCC pair through an AWGN channel on an SNR grid, float against quantized: a quantized
 * encoder is followed by the float decoder, a quantized decoder is fed by the float encoder. Both
 * pipelines see the same noise on the same image (one seeded stream per image and SNR), so the
 * difference is the quantizer's alone. The float pipeline is computed once and cached, so the
 * sensitivity search can evaluate many candidate models cheaply.
 *
 * Inputs are the encoder's: `image` and whatever else it takes (`prior`, `length`); an `snr_db` input is
 * set to each grid SNR (clamped to its card range). The decoder takes the received `latent` plus the
 * encoder inputs of the same name (`prior`, `snr_db`, `length`). With a `length` input, only the first
 * 2·length values are sent and the rest reach the decoder as 0, as the cloud zero-pads them.
 */
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import { batchOf, floatRow, splitRows, type RowTable } from '../report/rows.js';
import { createSession, runSession, type Feeds } from '../report/session.js';
import type { JsccModelInfo } from './card.js';
import { addAwgn, psnrDb, rowSeed, seededRandom } from './channel.js';

/** PSNR at one SNR, mean over images of the per-image PSNR. */
export interface PsnrPoint {
  snrDb: number;
  floatPsnrDb: number;
  quantizedPsnrDb: number;
  /** float − quantized (positive = the quantized pipeline is worse). */
  lossDb: number;
}

/** PSNR through the channel before and after quantization. */
export interface JsccEvaluation {
  role: 'encoder' | 'decoder';
  encoder: string;
  decoder: string;
  images: number;
  seed: number;
  points: PsnrPoint[];
  /** The largest loss over the grid. */
  maxLossDb: number;
}

const BATCH = 64;
const SNR_INPUT = 'snr_db';
const LENGTH_INPUT = 'length';

export class JsccEvaluator {
  private readonly cache = new Map<number, { received: Float32Array; floatPsnr: number }>();
  /** Values per image of the encoder's output, known after the first run. */
  private width = 0;

  private constructor(
    readonly info: JsccModelInfo,
    private readonly rows: RowTable,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    readonly grid: number[],
    readonly seed: number,
  ) {}

  /**
   * `rows` holds encoder inputs (at least `image`, NCHW in [0, 1]). The float encoder and decoder are read
   * from the paths in `info` unless their bytes are given.
   */
  static async create(info: JsccModelInfo, rows: RowTable, opts: { grid?: number[]; seed?: number; encoder?: Uint8Array; decoder?: Uint8Array } = {}): Promise<JsccEvaluator> {
    const { readFile } = await import('node:fs/promises');
    const encoder = await createSession(opts.encoder ?? (await readFile(info.encoderPath)), info.encoderPath);
    const decoder = await createSession(opts.decoder ?? (await readFile(info.decoderPath)), info.decoderPath);
    if (!rows.columns.has('image')) throw new AkbError('BAD_CALIBRATION_DATA', `JSCC evaluation needs images (an "image" input); the data has ${[...rows.columns.keys()].join(', ')}`);
    for (const name of encoder.inputNames) {
      if (name !== SNR_INPUT && !rows.columns.has(name)) {
        throw new AkbError('BAD_CALIBRATION_DATA', `${info.encoderPath} takes "${name}", which the JSCC images do not have`, { hint: 'give a folder with one .npy per encoder input' });
      }
    }
    return new JsccEvaluator(info, rows, encoder, decoder, opts.grid ?? info.snrGrid, opts.seed ?? 2024);
  }

  get images(): number {
    return this.rows.count;
  }

  /**
   * An evaluator on the same sessions for another grid and/or only the first `images` rows (the float
   * pipeline's cache is shared when the rows are the same): the sensitivity search scores candidates on
   * a few SNRs and images, and the report measures the result on all of them.
   */
  derive(opts: { grid?: number[]; images?: number }): JsccEvaluator {
    const count = Math.min(opts.images ?? this.rows.count, this.rows.count);
    const rows = count === this.rows.count ? this.rows : splitRows(this.rows, count)[0];
    const d = new JsccEvaluator(this.info, rows, this.encoder, this.decoder, opts.grid ?? this.grid, this.seed);
    if (rows === this.rows) for (const [k, v] of this.cache) d.cache.set(k, v);
    d.width = this.width;
    return d;
  }

  /** PSNR on the grid of the float pipeline and of the one with `quantized` in place of the model's role. */
  async evaluate(quantized: Uint8Array | ort.InferenceSession): Promise<JsccEvaluation> {
    const session = quantized instanceof Uint8Array ? await createSession(quantized, 'the quantized model') : quantized;
    const points: PsnrPoint[] = [];
    for (const snr of this.grid) {
      const base = await this.floatAt(snr);
      const received = this.info.role === 'encoder' ? await this.transmit(session, snr) : base.received;
      const q = await this.decode(this.info.role === 'decoder' ? session : this.decoder, received, snr);
      points.push({ snrDb: snr, floatPsnrDb: base.floatPsnr, quantizedPsnrDb: q, lossDb: base.floatPsnr - q });
    }
    return {
      role: this.info.role,
      encoder: this.info.encoderPath,
      decoder: this.info.decoderPath,
      images: this.rows.count,
      seed: this.seed,
      points,
      maxLossDb: Math.max(...points.map((p) => p.lossDb)),
    };
  }

  /** The float pipeline's received symbols and PSNR at `snr` (computed once). */
  private async floatAt(snr: number): Promise<{ received: Float32Array; floatPsnr: number }> {
    let hit = this.cache.get(snr);
    if (hit === undefined) {
      const received = await this.transmit(this.encoder, snr);
      hit = { received, floatPsnr: await this.decode(this.decoder, received, snr) };
      this.cache.set(snr, hit);
    }
    return hit;
  }

  /** Encoder output of every row plus the channel's noise at `snr`; unsent values zeroed. */
  async transmit(encoder: ort.InferenceSession, snr: number, perRowSnr?: Float32Array): Promise<Float32Array> {
    let out = new Float32Array(0);
    let width = this.width;
    for (let start = 0; start < this.rows.count; start += BATCH) {
      const n = Math.min(BATCH, this.rows.count - start);
      const feeds = batchOf(this.rows, start, n, encoder.inputNames, this.snrFeed(encoder, start, n, snr, perRowSnr));
      const r = await runSession(encoder, feeds, this.info.encoderPath);
      const latent = r[this.info.encoderOutput];
      if (width === 0 && latent instanceof ort.Tensor) width = this.width = latent.size / n;
      if (!(latent instanceof ort.Tensor) || latent.type !== 'float32' || latent.size !== n * width) {
        throw new AkbError('NOT_JSCC', `${this.info.encoderPath} gives no float output "${this.info.encoderOutput}" of the same size for every image`);
      }
      if (out.length === 0) out = new Float32Array(this.rows.count * width);
      out.set(latent.data as Float32Array, start * width);
    }
    for (let row = 0; row < this.rows.count; row++) {
      const rowSnr = perRowSnr?.[row] ?? snr;
      const values = out.subarray(row * width, (row + 1) * width);
      const sent = this.sentValues(row, width);
      values.fill(0, sent);
      addAwgn(values, rowSnr, seededRandom(rowSeed(this.seed, row, rowSnr)), sent);
    }
    return out;
  }

  /** Mean PSNR of `decoder` on the received symbols of every row. */
  private async decode(decoder: ort.InferenceSession, received: Float32Array, snr: number): Promise<number> {
    const width = this.width;
    let sum = 0;
    for (let start = 0; start < this.rows.count; start += BATCH) {
      const n = Math.min(BATCH, this.rows.count - start);
      const override: Feeds = { [this.info.latentInput]: new ort.Tensor('float32', received.subarray(start * width, (start + n) * width), [n, width]) };
      Object.assign(override, this.snrFeed(decoder, start, n, snr));
      const r = await runSession(decoder, batchOf(this.rows, start, n, decoder.inputNames, override), this.info.decoderPath);
      const image = r[this.info.imageOutput];
      if (!(image instanceof ort.Tensor) || image.type !== 'float32') throw new AkbError('NOT_JSCC', `${this.info.decoderPath} gives no float output "${this.info.imageOutput}"`);
      const recon = image.data as Float32Array;
      const size = recon.length / n;
      for (let i = 0; i < n; i++) sum += psnrDb(floatRow(this.rows, 'image', start + i), recon, i * size);
    }
    return sum / this.rows.count;
  }

  /** Decoder inputs for every row, at each row's own SNR (its snr_db input, else the model's training SNR). */
  async decoderRows(): Promise<Feeds[]> {
    const snrCol = this.rows.columns.get(SNR_INPUT);
    const fallback = this.info.trainSnrDb ?? this.grid[Math.floor(this.grid.length / 2)] ?? 10;
    const perRow = Float32Array.from({ length: this.rows.count }, (_, i) => (snrCol ? Number(snrCol.data[i * snrCol.rowSize]) : fallback));
    const received = await this.transmit(this.encoder, fallback, perRow);
    const width = this.width;
    const out: Feeds[] = [];
    for (let row = 0; row < this.rows.count; row++) {
      const override: Feeds = { [this.info.latentInput]: new ort.Tensor('float32', received.slice(row * width, (row + 1) * width), [1, width]) };
      if (this.decoder.inputNames.includes(SNR_INPUT)) override[SNR_INPUT] = new ort.Tensor('float32', Float32Array.of(this.clampSnr(perRow[row]!)), [1, 1]);
      out.push(batchOf(this.rows, row, 1, this.decoder.inputNames, override));
    }
    return out;
  }

  private snrFeed(session: ort.InferenceSession, start: number, n: number, snr: number, perRow?: Float32Array): Feeds {
    if (!session.inputNames.includes(SNR_INPUT)) return {};
    const values = Float32Array.from({ length: n }, (_, i) => this.clampSnr(perRow?.[start + i] ?? snr));
    return { [SNR_INPUT]: new ort.Tensor('float32', values, [n, 1]) };
  }

  private clampSnr(snr: number): number {
    const r = this.info.snrInputRange ?? this.info.encoderCard?.inputs.find((i) => i.name === SNR_INPUT)?.range;
    return r ? Math.min(r.max, Math.max(r.min, snr)) : snr;
  }

  private sentValues(row: number, width: number): number {
    const col = this.rows.columns.get(LENGTH_INPUT);
    if (col === undefined) return width;
    return Math.min(width, 2 * Math.round(Number(col.data[row * col.rowSize])));
  }
}
