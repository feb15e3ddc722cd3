/**
 * The decoder of one model set, fed by name from its model card: `latent` (the received symbols,
 * zero-padded to the card's width), and where the card has them `prior` (3 x tile x tile), `snr_db` and
 * `length`. Tiles queue here and go to the first free lane slot in batches (up to `maxBatch` tiles per
 * session.run; two slots per lane): while every slot is busy, tiles accumulate, so batches grow with the
 * load and a lone tile is decoded at once.
 */
import { AkbError } from '@akb/protocol';
import { BackendRegistry, ortNodeBackend, type ModelSet } from '@akb/jscc';
import { inlineLane, threadLane, type DecodeLane } from './lanes.js';
import { clampDb } from './snr.js';

export interface TileJob {
  /** Received latent, divided by the power amplitude: interleaved I,Q, 2 x length values; erased = 0. */
  readonly latent: Float32Array;
  /** Latent complex symbols sent. */
  readonly length: number;
  /** 3 x tile x tile prior (AKB sets); ignored when the decoder takes none. */
  readonly prior: Float32Array | undefined;
  /** Effective SNR, dB (clamped to the card's range by `clampSnr`). */
  readonly snrDb: number;
}

export interface TileDecoderOptions {
  /** Decode lanes (parallel sessions), default 1. */
  lanes?: number;
  /** 'thread' (default): onnxruntime-node in worker threads; 'inline': a session on the main thread. */
  lane?: 'thread' | 'inline';
  intraOpThreads?: number;
  /** Most tiles per session.run (default 64). */
  maxBatch?: number;
  /** Most tiles waiting for a lane (default 8192); beyond it decode() refuses with OVERLOADED. */
  maxQueue?: number;
  /** Makes the lanes instead (tests, benchmarks, a backend of your own); `lane` and `intraOpThreads` are then unused. */
  laneFactory?: (set: ModelSet) => Promise<DecodeLane>;
}

export interface TileDecoderStats {
  runs: number;
  tiles: number;
  largestBatch: number;
  queued: number;
  failures: number;
  /** Tiles refused because `maxQueue` tiles already waited (OVERLOADED). */
  shed: number;
}

const KNOWN_INPUTS = new Set(['latent', 'prior', 'snr_db', 'length']);

interface Queued {
  job: TileJob;
  resolve: (image: Float32Array) => void;
  reject: (e: unknown) => void;
}

export class TileDecoder {
  /** Latent reals per tile the decoder takes (the card's `latent` width). */
  readonly width: number;
  readonly tile: number;
  readonly snrRange: { min: number; max: number };
  readonly takesPrior: boolean;
  private readonly inputs: ReadonlySet<string>;
  private readonly output: string;
  private readonly queue: Queued[] = [];
  private readonly idle: DecodeLane[];
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly counters = { runs: 0, tiles: 0, largestBatch: 0, failures: 0, shed: 0 };

  private constructor(readonly set: ModelSet, private readonly lanes: DecodeLane[], maxBatch: number, maxQueue: number) {
    const card = set.decoder.card;
    const inputs = new Map(card.inputs.map((i) => [i.name, i]));
    for (const name of inputs.keys()) {
      if (!KNOWN_INPUTS.has(name)) {
        throw new AkbError('MODEL_SET_INVALID', `${card.name}: decoder input "${name}" is not one the cloud can feed`, {
          hint: `a decoder takes latent and optionally prior, snr_db, length`,
        });
      }
    }
    const latent = inputs.get('latent')?.shape[1];
    if (typeof latent !== 'number') throw new AkbError('MODEL_SET_INVALID', `${card.name}: its card gives no fixed latent width`);
    const out = card.outputs.find((o) => o.name === 'image') ?? card.outputs[0];
    const tile = out?.shape[3];
    if (out === undefined || typeof tile !== 'number') throw new AkbError('MODEL_SET_INVALID', `${card.name}: its card gives no image output size`);
    this.width = latent;
    this.tile = tile;
    this.output = out.name;
    this.inputs = new Set(inputs.keys());
    this.takesPrior = this.inputs.has('prior');
    this.snrRange = inputs.get('snr_db')?.range ?? card.snrRange ?? { min: -100, max: 100 };
    // Two batches in flight per lane: the next one waits in the lane's queue, so the lane never idles
    // while the main thread handles the previous batch's results.
    this.idle = lanes.flatMap((l) => [l, l]);
    this.maxBatch = maxBatch;
    this.maxQueue = maxQueue;
  }

  static async create(set: ModelSet, options: TileDecoderOptions = {}): Promise<TileDecoder> {
    const n = Math.max(1, Math.floor(options.lanes ?? 1));
    const bytes = set.decoder.bytes;
    const make = async (): Promise<DecodeLane> => {
      if (options.laneFactory) return options.laneFactory(set);
      if (options.lane === 'inline') {
        const registry = new BackendRegistry().register(ortNodeBackend('onnxruntime-node-cpu', { intraOpThreads: options.intraOpThreads ?? 1 }));
        return inlineLane(await registry.createSession(bytes, ['onnxruntime-node-cpu'], set.decoder.card.name));
      }
      return threadLane(bytes, { intraOpThreads: options.intraOpThreads ?? 1 });
    };
    const lanes = await Promise.all(Array.from({ length: n }, make));
    try {
      return new TileDecoder(set, lanes, Math.max(1, options.maxBatch ?? 64), Math.max(1, options.maxQueue ?? 8192));
    } catch (e) {
      await Promise.all(lanes.map((l) => l.close()));
      throw e;
    }
  }

  get stats(): TileDecoderStats {
    return { ...this.counters, queued: this.queue.length };
  }

  clampSnr(db: number): number {
    return clampDb(db, this.snrRange);
  }

  /** Decodes one tile: resolves with 3 x tile x tile planar RGB. */
  decode(job: TileJob): Promise<Float32Array> {
    if (2 * job.length > this.width || job.latent.length > this.width) {
      return Promise.reject(new AkbError('BAD_LENGTH', `${job.length} latent symbols exceed the decoder's ${this.width / 2}`));
    }
    if (this.queue.length >= this.maxQueue) {
      this.counters.shed++;
      return Promise.reject(new AkbError('OVERLOADED', `${this.queue.length} tiles already wait for a decode lane`, { hint: 'add --workers, or spread the fleet over more akb-cloud processes (--shared)' }));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  /** Rejects every tile not yet handed to a lane (AkbError 'CANCELLED'); batches running go on. */
  cancelQueued(): number {
    const dropped = this.queue.splice(0);
    for (const q of dropped) q.reject(new AkbError('CANCELLED', 'the decoder is stopping'));
    return dropped.length;
  }

  async close(): Promise<void> {
    for (const q of this.queue.splice(0)) q.reject(new AkbError('CLOSED', 'the decoder is closed'));
    await Promise.all(this.lanes.map((l) => l.close()));
  }

  private pump(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      const lane = this.idle.pop()!;
      const batch = this.queue.splice(0, this.maxBatch);
      void this.run(lane, batch);
    }
  }

  private async run(lane: DecodeLane, batch: Queued[]): Promise<void> {
    const n = batch.length;
    const t3 = 3 * this.tile * this.tile;
    try {
      const offsets = new Int32Array(n + 1);
      batch.forEach((q, i) => (offsets[i + 1] = offsets[i]! + q.job.latent.length));
      const latent = new Float32Array(offsets[n]!);
      batch.forEach((q, i) => latent.set(q.job.latent, offsets[i]));
      const priors = this.takesPrior
        ? batch.map((q) => {
            if (q.job.prior === undefined || q.job.prior.length !== t3) throw new AkbError('NO_PRIOR', 'this decoder needs a 3 x tile x tile prior');
            return q.job.prior;
          })
        : undefined;
      const out = await lane.run({
        rows: n,
        width: this.width,
        tile: this.tile,
        latent,
        offsets,
        priors,
        snrDb: this.inputs.has('snr_db') ? Float32Array.from(batch, (q) => this.clampSnr(q.job.snrDb)) : undefined,
        length: this.inputs.has('length') ? Float32Array.from(batch, (q) => q.job.length) : undefined,
        output: this.output,
      });
      if (out.length !== n * t3) throw new AkbError('BAD_OUTPUT', `decoder output ${this.output} has ${out.length} values, expected ${n * t3}`);
      this.counters.runs++;
      this.counters.tiles += n;
      this.counters.largestBatch = Math.max(this.counters.largestBatch, n);
      batch.forEach((q, i) => q.resolve(out.subarray(i * t3, (i + 1) * t3)));
    } catch (e) {
      this.counters.failures++;
      for (const q of batch) q.reject(e);
    } finally {
      this.idle.push(lane);
      this.pump();
    }
  }
}
