/**
 * The edge's JSCC encoder over a batch of tiles: one session.run of the embedder and one of the encoder
 * for all tiles of an image (in chunks of `maxBatch`), the source-KB entry of each tile, the index rule,
 * and the power-scaled latent prefixes ready for framing. Tensor names and shapes come from the cards.
 *
 * AKB sets: entry = nearest KB key to embedder(tile). The index costs `kb.indexUses(snr)` channel uses at
 * the tile's expected SNR (the channel estimate plus the action's power); when that is negative or more
 * than half the action's uses, no index is sent (prior = the global mean, all uses carry latent). The
 * index rides in the frame header, so a frame carries `channelUses − indexUses` latent symbols.
 * With the source KB withheld (`sourceKb: 'off'`) every tile is sent that way: no embedder runs, no index is
 * sent, the encoder gets the KB's global mean as prior and all of the action's uses carry latent, as the
 * Python reference evaluates the same network without its KB (models/eval/akb_eval.py, K = 1).
 * Fixed-rate AKB sets (`akb-fixed`, issue 15): no embedder; entry = the KB prior of least squared pixel
 * error to the tile (kb.nearest over the tile itself, models/train/fixed_kb.py), the same index rule (at
 * 256 uses: `kb.indexUses(snr)`, none when negative or above 128), the prior fed to the encoder with
 * `snr_db` and `length` = 256 − index uses. The no-KB twin (`prior: global-mean`) and `sourceKb: 'off'`
 * send no entry: global mean, 256 latent symbols.
 * Deep JSCC sets: encoder(image[, snr_db]) and every symbol of the latent.
 *
 * Buffers are reused between calls: what `encode` returns is valid until the next call.
 */
import { AkbError } from '@akb/protocol';
import { type BackendName, type BackendRegistry, defaultBackends, type InferenceSession, type LoadedModel, type ModelSet, type RateAction, type Tensor } from '@akb/jscc';

const NO_BYTES = new Uint8Array(0);

/**
 * The set without its ONNX bytes, for keeping once the sessions exist: onnxruntime holds its own copy of
 * the weights, and the bytes (3.5 MB for akb-k256, the decoder's 1.6 MB included, which the edge never
 * runs) would otherwise stay resident for the life of the process.
 */
export function withoutOnnxBytes(set: ModelSet): ModelSet {
  const strip = (m: LoadedModel): LoadedModel => ({ ...m, bytes: NO_BYTES });
  return { ...set, encoder: strip(set.encoder), decoder: strip(set.decoder), embedder: set.embedder && strip(set.embedder), policy: set.policy && strip(set.policy) };
}

const INPUT_ROLES = ['image', 'prior', 'snr_db', 'length'] as const;
type InputRole = (typeof INPUT_ROLES)[number];

export interface TileEncoderOptions {
  backends?: BackendRegistry;
  backendOrder?: readonly BackendName[];
  /** Most tiles per session.run (default 32: larger batches raise the peak memory, 370 MB at 384 tiles, for no speed). */
  maxBatch?: number;
  /**
   * `off` withholds an AKB set's source KB: no entry is chosen or sent, the prior is the KB's global mean and
   * every channel use carries latent (default `on`). Refused for a set without a KB.
   */
  sourceKb?: SourceKb;
}

/** Whether an AKB set uses its source KB (`on`) or runs with it withheld (`off`). */
export type SourceKb = 'on' | 'off';

export interface EncodeRequest {
  /** count x 3 x tile x tile planar RGB in [0, 1]. */
  readonly tiles: Float32Array;
  readonly count: number;
  /** Index into the set's actions, per tile. */
  readonly actions: ArrayLike<number>;
  /** Channel SNR estimate (before the action's power), dB. */
  readonly snrEstimateDb: number;
}

export interface EncodedTiles {
  readonly count: number;
  /** Power-scaled interleaved I/Q of all tiles; tile i is values[offsets[i] .. offsets[i + 1]). */
  readonly values: Float32Array;
  readonly offsets: Uint32Array;
  /** Latent complex symbols sent per tile. */
  readonly lengths: Uint32Array;
  /** KB entry whose index is sent, or -1 (none sent, or no KB). */
  readonly entries: Int32Array;
  /** Channel uses spent on the index per tile (0 when none is sent). */
  readonly indexUses: Uint32Array;
  /** Choosing the entries: the embedder's runs and the key search (akb), the pixel search (akb-fixed), ms. */
  readonly embedMs: number;
  readonly encodeMs: number;
  /** Time inside session.run (embedder and encoder), ms. */
  readonly sessionMs: number;
}

export class TileEncoder {
  readonly tile: number;
  readonly latentValues: number;
  /** Whether entries are chosen and sent (`on`) or the source KB is withheld (`off`). */
  readonly sourceKb: SourceKb;
  /** A fixed-rate AKB set choosing entries by pixel error (not its no-KB twin, not with the KB off). */
  private readonly pixelEntries: boolean;
  private readonly tileValues: number;
  private readonly maxBatch: number;
  private readonly snrRange: { min: number; max: number };
  private cap = 0;
  private prior = new Float32Array(0);
  private snr = new Float32Array(0);
  private length = new Float32Array(0);
  private embedding = new Float32Array(0);
  private out: Omit<EncodedTiles, 'embedMs' | 'encodeMs' | 'sessionMs' | 'count'> = {
    values: new Float32Array(0), offsets: new Uint32Array(1), lengths: new Uint32Array(0), entries: new Int32Array(0), indexUses: new Uint32Array(0),
  };

  private constructor(
    /** The set, less its ONNX bytes (withoutOnnxBytes). */
    readonly set: ModelSet,
    private readonly encoder: { session: InferenceSession; roles: [string, InputRole][]; output: string },
    private readonly embedder: { session: InferenceSession; input: string; output: string } | undefined,
    options: TileEncoderOptions,
  ) {
    const image = set.encoder.card.inputs.find((i) => i.name === 'image')!;
    this.tile = image.shape[2] as number;
    this.tileValues = 3 * this.tile * this.tile;
    this.latentValues = 2 * set.maxSymbols;
    this.maxBatch = Math.max(1, options.maxBatch ?? 32);
    this.sourceKb = options.sourceKb ?? 'on';
    this.pixelEntries = set.kind === 'akb-fixed' && set.prior === 'kb-entry' && this.sourceKb === 'on';
    const range = set.encoder.card.inputs.find((i) => i.name === 'snr_db')?.range;
    this.snrRange = { min: range?.min ?? -Infinity, max: range?.max ?? Infinity };
  }

  static async create(set: ModelSet, options: TileEncoderOptions = {}): Promise<TileEncoder> {
    const card = set.encoder.card;
    const roles: [string, InputRole][] = card.inputs.map((i) => {
      if (!(INPUT_ROLES as readonly string[]).includes(i.name)) {
        throw new AkbError('MODEL_SET_INVALID', `${card.name}: input "${i.name}" is none of ${INPUT_ROLES.join(', ')}`);
      }
      return [i.name, i.name as InputRole];
    });
    const image = card.inputs.find((i) => i.name === 'image');
    const [, ch, h, w] = image?.shape ?? [];
    if (ch !== 3 || typeof h !== 'number' || h !== w) throw new AkbError('MODEL_SET_INVALID', `${card.name}: input "image" must be [N, 3, T, T]`);
    const akb = set.kind === 'akb' || set.kind === 'akb-fixed';
    const sourceKb = options.sourceKb ?? 'on';
    if (sourceKb !== 'on' && sourceKb !== 'off') throw new AkbError('BAD_OPTION', `sourceKb must be "on" or "off", not ${JSON.stringify(sourceKb)}`);
    if (sourceKb === 'off' && (!akb || !set.kb)) {
      throw new AkbError('BAD_OPTION', `${set.name} has no source KB to withhold (sourceKb: off is for an akb or akb-fixed set)`, { hint: 'leave sourceKb at on for a Deep JSCC set' });
    }
    if (akb !== roles.some(([, r]) => r === 'prior') || (akb && !set.kb)) {
      throw new AkbError('MODEL_SET_INVALID', `${set.name}: an akb set's encoder takes a prior from its KB; a deepjscc set's takes none`);
    }
    const output = card.outputs[0]?.name;
    if (output === undefined) throw new AkbError('MODEL_SET_INVALID', `${card.name}: its card lists no output`);
    const backends = options.backends ?? defaultBackends();
    const order = options.backendOrder ?? ['onnxruntime-node-cpu'];
    const session = await backends.createSession(set.encoder.bytes, order, card.name);
    let embedder: { session: InferenceSession; input: string; output: string } | undefined;
    if (set.kind === 'akb-fixed' && sourceKb === 'on' && set.prior === 'kb-entry' && set.kb!.selection !== 'pixel') {
      throw new AkbError('MODEL_SET_INVALID', `${set.name}: an akb-fixed set picks entries in pixel space; its KB ${set.kb!.name} is an embedding KB`);
    }
    if (set.kind === 'akb-fixed' || (akb && sourceKb === 'off')) {
      // no embedder session: a fixed-rate set looks entries up in pixel space, and with the KB off nothing is looked up
    } else if (akb && set.embedder) {
      const e = set.embedder.card;
      const dim = e.outputs[0]?.shape[1];
      if (dim !== set.kb!.dim) throw new AkbError('MODEL_SET_INVALID', `${e.name} outputs ${String(dim)} values; the KB's keys have ${set.kb!.dim}`);
      embedder = { session: await backends.createSession(set.embedder.bytes, order, e.name), input: e.inputs[0]!.name, output: e.outputs[0]!.name };
    } else if (akb) {
      throw new AkbError('MODEL_SET_INVALID', `${set.name}: an akb set names an embedder`);
    }
    return new TileEncoder(withoutOnnxBytes(set), { session, roles, output }, embedder, options);
  }

  /** Encodes `count` tiles with their actions. */
  async encode(req: EncodeRequest): Promise<EncodedTiles> {
    const { count, tiles, actions, snrEstimateDb } = req;
    if (tiles.length < count * this.tileValues) throw new AkbError('BAD_INPUT', `${count} tiles need ${count * this.tileValues} values, got ${tiles.length}`);
    this.reserve(count);
    const { set } = this;
    const kb = set.kb;
    const { lengths, entries, indexUses, offsets } = this.out;
    let embedMs = 0;
    let sessionMs = 0;
    if (this.embedder && kb) {
      const t0 = performance.now();
      for (let start = 0; start < count; start += this.maxBatch) {
        const n = Math.min(this.maxBatch, count - start);
        const t1 = performance.now();
        const r = await this.embedder.session.run({ [this.embedder.input]: this.view(tiles, start, n) });
        sessionMs += performance.now() - t1;
        this.embedding.set(this.outputOf(r, this.embedder.output, n * kb.dim), start * kb.dim);
      }
      for (let i = 0; i < count; i++) entries[i] = this.nearest(i);
      embedMs = performance.now() - t0;
    } else if (this.pixelEntries && kb) {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) entries[i] = kb.nearest(tiles, i * this.tileValues).entry;
      embedMs = performance.now() - t0;
    } else {
      entries.fill(-1, 0, count);
    }
    const t0 = performance.now();
    offsets[0] = 0;
    for (let i = 0; i < count; i++) {
      const action = set.actions[actions[i]!];
      if (!action) throw new AkbError('BAD_ACTION', `tile ${i}: no action ${actions[i]!} in ${set.name}`);
      const snr = snrEstimateDb + action.powerDb;
      this.snr[i] = Math.min(this.snrRange.max, Math.max(this.snrRange.min, snr));
      const { entry, uses } = this.indexRule(entries[i]!, snr, action);
      entries[i] = entry;
      indexUses[i] = uses;
      const len = Math.max(1, Math.min(set.maxSymbols, action.channelUses - uses));
      lengths[i] = len;
      this.length[i] = len;
      offsets[i + 1] = offsets[i]! + 2 * len;
      if (kb) this.prior.set(kb.prior(entry), i * this.tileValues);
    }
    for (let start = 0; start < count; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, count - start);
      const feeds: Record<string, Tensor> = {};
      for (const [name, role] of this.encoder.roles) {
        if (role === 'image') feeds[name] = this.view(tiles, start, n);
        else if (role === 'prior') feeds[name] = this.view(this.prior, start, n);
        else feeds[name] = { data: (role === 'snr_db' ? this.snr : this.length).subarray(start, start + n), dims: [n, 1] };
      }
      const t1 = performance.now();
      const r = await this.encoder.session.run(feeds);
      sessionMs += performance.now() - t1;
      this.scatter(this.outputOf(r, this.encoder.output, n * this.latentValues), start, n, actions);
    }
    const encodeMs = performance.now() - t0;
    return { count, ...this.out, embedMs, encodeMs, sessionMs };
  }

  /**
   * kb.nearest for tile i's embedding, with the same arithmetic and tie rule (the first of equal
   * distances), but giving up on a key as soon as its partial distance reaches the best so far.
   */
  private nearest(i: number): number {
    const { keys, size, dim } = this.set.kb!;
    const e = this.embedding;
    const base = i * dim;
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    for (let k = 0; k < size; k++) {
      const kb0 = k * dim;
      let d = 0;
      for (let j = 0; j < dim; j++) {
        const t = e[base + j]! - keys[kb0 + j]!;
        d += t * t;
        if ((j & 15) === 15 && d >= bestD) break;
      }
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    return best;
  }

  /** The index rule of kb.json: send the index only when it takes at most half of the action's uses. */
  private indexRule(entry: number, snrDb: number, action: RateAction): { entry: number; uses: number } {
    const kb = this.set.kb;
    if (!kb || entry < 0) return { entry: -1, uses: 0 };
    const uses = kb.indexUses(snrDb);
    if (uses < 0 || uses > action.channelUses / 2) return { entry: -1, uses: 0 };
    return { entry, uses };
  }

  /** Copies each tile's latent prefix, scaled to the action's power, into the packed output. */
  private scatter(latent: Float32Array, start: number, n: number, actions: ArrayLike<number>): void {
    const { values, offsets } = this.out;
    for (let j = 0; j < n; j++) {
      const i = start + j;
      const amp = 10 ** (this.set.actions[actions[i]!]!.powerDb / 20);
      const from = j * this.latentValues;
      const at = offsets[i]!;
      const len = offsets[i + 1]! - at;
      for (let k = 0; k < len; k++) values[at + k] = latent[from + k]! * amp;
    }
  }

  private view(data: Float32Array, start: number, n: number): Tensor {
    return { data: data.subarray(start * this.tileValues, (start + n) * this.tileValues), dims: [n, 3, this.tile, this.tile] };
  }

  private outputOf(result: Record<string, Tensor>, name: string, values: number): Float32Array {
    const t = result[name];
    if (!t || t.data.length !== values) throw new AkbError('BAD_OUTPUT', `the model returned ${t ? t.data.length : 'no'} values for ${name}, expected ${values}`);
    return t.data;
  }

  private reserve(count: number): void {
    if (count <= this.cap) return;
    const cap = Math.max(count, 2 * this.cap, 16);
    this.cap = cap;
    this.prior = new Float32Array(this.set.kb ? cap * this.tileValues : 0);
    this.snr = new Float32Array(cap);
    this.length = new Float32Array(cap);
    this.embedding = new Float32Array(this.set.kb ? cap * this.set.kb.dim : 0);
    this.out = {
      values: new Float32Array(cap * this.latentValues),
      offsets: new Uint32Array(cap + 1),
      lengths: new Uint32Array(cap),
      entries: new Int32Array(cap),
      indexUses: new Uint32Array(cap),
    };
  }

  /** The backend each session runs on: the first of the order that could load the model. */
  get backends(): { encoder: BackendName; embedder?: BackendName } {
    return { encoder: this.encoder.session.backend, ...(this.embedder ? { embedder: this.embedder.session.backend } : {}) };
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.session.release(), this.embedder?.session.release()]);
  }
}
