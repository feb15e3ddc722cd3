/**
 * The images being received: one state per `image-meta`, found again from a frame by (device, session,
 * frame id in [firstFrameId, firstFrameId + tiles)), decoded tiles placed into the reconstruction with the
 * edge padding cropped, and a result per image when every tile is accounted for or the image times out.
 * Recent results stay in a ring, without their pixels (for `images.recent` and a dashboard).
 *
 * Admission (limits.ts): a meta is checked against the size limits and the per-device and overall
 * budgets of open images before its reconstruction is allocated; over budget, the device's own oldest
 * open images are pushed out (to be finished as `evicted`) or the meta is refused.
 */
import type { ImageMetaMessage } from '@akb/protocol';
import { extractTile, psnr, tileGrid, type RgbImage, type TileGrid } from '@akb/jscc';
import { imageCost, sizeRefusal, type ImageLimits, type MetaRefusal } from './limits.js';

/**
 * decoded: the frame arrived whole; erased: it arrived with fragments missing (decoded with erasures);
 * lost: no frame arrived, decoded from the prior alone; kb-mismatch: the frame named a KB this cloud does
 * not hold (not decoded; the tile holds the current KB's global mean); elsewhere: with a shared
 * subscription, another worker got the frame (or it was lost), so this worker has nothing for the tile.
 */
export type TileStatus = 'decoded' | 'erased' | 'lost' | 'kb-mismatch' | 'elsewhere';

export interface TileResult {
  readonly index: number;
  readonly frameId: number;
  readonly status: TileStatus;
  readonly actionId?: number;
  readonly channelUses?: number;
  readonly powerDb?: number;
  /** Latent complex symbols sent (the frame's total symbols). */
  readonly length?: number;
  /** KB entry of the prior; -1 for the global mean. */
  readonly kbEntry?: number;
  /** Effective SNR measured over the frame, dB; what the decoder got is this clamped to its card's range. */
  readonly snrDb?: number;
  /** Where snrDb came from: the receiver's RX_SNR in the frame (plus the action's power), or estimated blind. */
  readonly snrSource?: 'receiver' | 'blind';
  readonly fragmentsExpected: number;
  readonly fragmentsLost: number;
  readonly symbolsErased: number;
  /** PSNR of the decoded tile (32 x 32, padding included) against the reference, when known. */
  readonly psnr?: number;
  readonly reward?: number;
  readonly decodeMs?: number;
}

export interface ImageResult {
  readonly device: string;
  readonly session: number;
  readonly image: number;
  readonly name: string | undefined;
  readonly modelSet: string;
  readonly kbVersion: number;
  readonly width: number;
  readonly height: number;
  readonly tile: number;
  readonly tiles: number;
  readonly reconstruction: RgbImage;
  /**
   * The tiles handled here, in tile order (`index` says which): received, or decoded from the prior.
   * Tiles neither received nor decoded (an evicted or stopped image, one of which nothing arrived, or
   * tiles another worker has) are not listed; `counts` covers every tile.
   */
  readonly tileResults: readonly TileResult[];
  /** Whole-image PSNR against the reference, when one is known and every tile was handled here. */
  readonly psnr: number | undefined;
  /** Mean effective SNR over the tiles that arrived. */
  readonly meanSnrDb: number | undefined;
  readonly counts: Readonly<Record<TileStatus, number>>;
  /** Every tile's frame arrived here whole. */
  readonly complete: boolean;
  /**
   * complete: every tile handled; timeout: no tile for `imageTimeoutMs`; evicted: pushed out by a newer
   * image of its device over the budget (limits.ts); stopped: the cloud stopped.
   */
  readonly reason: FinishReason;
  readonly startedAt: number;
  readonly finishedAt: number;
}

export type FinishReason = 'complete' | 'timeout' | 'evicted' | 'stopped';

/** An image result without its pixels: what the ring of recent results keeps. */
export type ImageSummary = Omit<ImageResult, 'reconstruction'>;

/** Finds an image's original by the name in its meta. */
export type ReferenceResolver = (name: string) => Promise<RgbImage | undefined>;

export interface ImageState {
  readonly key: string;
  readonly device: string;
  readonly meta: ImageMetaMessage;
  readonly grid: TileGrid;
  /** The reconstruction, allocated at the first tile placed (or when a result's is first read). */
  pixels: RgbImage | undefined;
  readonly tiles: (TileResult | undefined)[];
  readonly reference: Promise<RgbImage | undefined>;
  readonly startedAt: number;
  /** Bytes it counts against the budgets (imageCost). */
  readonly cost: number;
  handled: number;
  /** Tiles whose frame arrived (decoded, erased or kb-mismatch). */
  received: number;
  /** Frames of this image being decoded now. */
  inFlight: number;
  deadline: number;
  /** No longer open: frames no longer find it (finished, evicted or being finished). */
  closing: boolean;
  /** Its result is being built (finish called once). */
  finishing: boolean;
}

export interface ImageBookOptions {
  imageTimeoutMs: number;
  ringSize: number;
  limits: ImageLimits;
  references?: ReferenceResolver;
  onReferenceError?: (error: unknown, name: string) => void;
  now: () => number;
}

const NO_REFERENCE: Promise<undefined> = Promise.resolve(undefined);

export type Admission = { state: ImageState; evicted: ImageState[]; refused?: undefined } | { refused: MetaRefusal; state?: undefined; evicted?: undefined };

export class ImageBook {
  private readonly open = new Map<string, ImageState>();
  private readonly bySession = new Map<string, ImageState[]>();
  /** Each device's open images, oldest first, and the bytes they cost. */
  private readonly byDevice = new Map<string, { states: ImageState[]; bytes: number }>();
  private bytes = 0;
  private readonly ring: ImageSummary[] = [];

  constructor(private readonly options: ImageBookOptions) {}

  get openImages(): number {
    return this.open.size;
  }

  get limits(): Readonly<ImageLimits> {
    return this.options.limits;
  }

  /** Bytes the open images cost against the budget. */
  get openBytes(): number {
    return this.bytes;
  }

  /** Recent results without pixels, oldest first. */
  recent(): ImageSummary[] {
    return [...this.ring];
  }

  has(key: string): boolean {
    return this.open.has(key);
  }

  /**
   * Opens the image a meta announces, if the limits allow (limits.ts); returns the device's older images
   * pushed out to make room (closed here already: the caller finishes them as `evicted`), or the refusal.
   * Nothing is allocated for a refused meta.
   */
  add(key: string, device: string, meta: ImageMetaMessage): Admission {
    const limits = this.options.limits;
    const refused = sizeRefusal(meta, limits);
    if (refused !== undefined) return { refused };
    const cost = imageCost(meta);
    const mine = this.byDevice.get(device) ?? { states: [], bytes: 0 };
    const others = this.bytes - mine.bytes;
    if (others + cost > limits.maxOpenBytes) return { refused: 'CLOUD_BUDGET' };
    const evicted: ImageState[] = [];
    let bytes = mine.bytes;
    let count = mine.states.length;
    for (const old of mine.states) {
      if (count + 1 <= limits.maxOpenImagesPerDevice && bytes + cost <= limits.maxOpenBytesPerDevice && this.bytes - mine.bytes + bytes + cost <= limits.maxOpenBytes) break;
      evicted.push(old);
      bytes -= old.cost;
      count--;
    }
    for (const old of evicted) this.forget(old);
    const grid = tileGrid(meta.width, meta.height, meta.tile);
    const now = this.options.now();
    const state: ImageState = {
      key,
      device,
      meta,
      grid,
      pixels: undefined,
      tiles: new Array<TileResult | undefined>(meta.tiles).fill(undefined),
      reference: this.resolve(meta),
      startedAt: now,
      cost,
      handled: 0,
      received: 0,
      inFlight: 0,
      deadline: now + this.options.imageTimeoutMs,
      closing: false,
      finishing: false,
    };
    this.open.set(key, state);
    const sessionKey = `${device}/${meta.session}`;
    const list = this.bySession.get(sessionKey) ?? [];
    list.push(state);
    this.bySession.set(sessionKey, list);
    const slot = this.byDevice.get(device) ?? { states: [], bytes: 0 };
    slot.states.push(state);
    slot.bytes += cost;
    this.byDevice.set(device, slot);
    this.bytes += cost;
    return { state, evicted };
  }

  /** The open image holding frame `frameId` of a device session, and the tile index. */
  locate(device: string, session: number, frameId: number): { state: ImageState; index: number } | undefined {
    for (const state of this.bySession.get(`${device}/${session}`) ?? []) {
      const index = (frameId - state.meta.firstFrameId) >>> 0;
      if (index < state.meta.tiles && !state.closing) return { state, index };
    }
    return undefined;
  }

  /** Keeps a tile's result and pixels (3 x tile x tile); true when the image now has every tile. */
  record(state: ImageState, result: TileResult, pixels: Float32Array | undefined): boolean {
    if (state.tiles[result.index] === undefined) {
      state.handled++;
      if (result.status !== 'lost') state.received++;
    }
    state.tiles[result.index] = result;
    if (pixels !== undefined) placeRows(reconstructionOf(state), state.grid, result.index, pixels);
    state.deadline = Math.max(state.deadline, this.options.now() + this.options.imageTimeoutMs);
    return state.handled === state.meta.tiles;
  }

  /** Open images past their deadline with nothing in flight. */
  overdue(now: number): ImageState[] {
    return [...this.open.values()].filter((s) => !s.closing && s.deadline <= now && s.inFlight === 0);
  }

  /** Every open image (at shutdown). */
  all(): ImageState[] {
    return [...this.open.values()].filter((s) => !s.closing);
  }

  /** The reference tile `index` (padded as the edge pads), or undefined without a reference. */
  referenceTile(state: ImageState, index: number): Promise<Float32Array | undefined> | undefined {
    if (state.reference === NO_REFERENCE) return undefined;
    return state.reference.then((ref) => (ref === undefined ? undefined : extractTile(ref, state.grid, index)));
  }

  /**
   * Closes an image and builds its result (its summary is kept in the ring). Tiles without a result are
   * not listed in `tileResults` (no object per tile of an image of which little arrived); they count as
   * `missingAs` in `counts`: `lost` (never received, not decoded) or `elsewhere` (a shared subscription).
   */
  async finish(state: ImageState, reason: FinishReason, missingAs: 'lost' | 'elsewhere' = 'elsewhere'): Promise<ImageResult> {
    this.forget(state);
    const tiles: TileResult[] = [];
    for (const t of state.tiles) if (t !== undefined) tiles.push(t);
    const counts: Record<TileStatus, number> = { decoded: 0, erased: 0, lost: 0, 'kb-mismatch': 0, elsewhere: 0 };
    for (const t of tiles) counts[t.status]++;
    counts[missingAs] += state.meta.tiles - tiles.length;
    const snrs = tiles.flatMap((t) => (t.snrDb === undefined ? [] : [t.snrDb]));
    const ref = await state.reference;
    const m = state.meta;
    const summary: ImageSummary = {
      device: state.device,
      session: m.session,
      image: m.image,
      name: m.name,
      modelSet: m.modelSet,
      kbVersion: m.kbVersion,
      width: m.width,
      height: m.height,
      tile: m.tile,
      tiles: m.tiles,
      tileResults: tiles,
      psnr: ref !== undefined && tiles.length === m.tiles ? psnr(ref.data, reconstructionOf(state).data) : undefined,
      meanSnrDb: snrs.length > 0 ? snrs.reduce((a, b) => a + b, 0) / snrs.length : undefined,
      counts,
      complete: counts.decoded === m.tiles,
      reason,
      startedAt: state.startedAt,
      finishedAt: this.options.now(),
    };
    this.ring.push(summary);
    while (this.ring.length > this.options.ringSize) this.ring.shift();
    // The pixels of an image of which nothing was placed are allocated only if a listener reads them.
    return Object.defineProperty({ ...summary }, 'reconstruction', { get: () => reconstructionOf(state), enumerable: true }) as ImageResult;
  }

  /** Closes an image: no longer found by its frames, no longer counted against the budgets. Idempotent. */
  forget(state: ImageState): void {
    state.closing = true;
    if (this.open.get(state.key) !== state) return;
    this.open.delete(state.key);
    const slot = this.byDevice.get(state.device);
    if (slot !== undefined) {
      slot.states = slot.states.filter((s) => s !== state);
      slot.bytes -= state.cost;
      if (slot.states.length === 0) this.byDevice.delete(state.device);
    }
    this.bytes -= state.cost;
    const sessionKey = `${state.device}/${state.meta.session}`;
    const list = (this.bySession.get(sessionKey) ?? []).filter((s) => s !== state);
    if (list.length > 0) this.bySession.set(sessionKey, list);
    else this.bySession.delete(sessionKey);
  }

  private resolve(meta: ImageMetaMessage): Promise<RgbImage | undefined> {
    const { references, onReferenceError } = this.options;
    const name = meta.name;
    if (references === undefined || name === undefined) return NO_REFERENCE;
    return references(name).then(
      (ref) => {
        if (ref === undefined) return undefined;
        if (ref.width !== meta.width || ref.height !== meta.height) {
          onReferenceError?.(new Error(`reference ${name} is ${ref.width}x${ref.height}, the image ${meta.width}x${meta.height}`), name);
          return undefined;
        }
        return ref;
      },
      (e: unknown) => {
        onReferenceError?.(e, name);
        return undefined;
      },
    );
  }
}

/** The image's reconstruction, allocated (zeros) on first use. */
function reconstructionOf(state: ImageState): RgbImage {
  const m = state.meta;
  state.pixels ??= { width: m.width, height: m.height, data: new Float32Array(3 * m.width * m.height) };
  return state.pixels;
}

/** placeTile by whole rows (TypedArray.set): the same result, several times faster on the hot path. */
function placeRows(image: RgbImage, grid: TileGrid, index: number, tile: Float32Array): void {
  const t = grid.tile;
  const x0 = (index % grid.cols) * t;
  const y0 = Math.floor(index / grid.cols) * t;
  const w = Math.min(t, image.width - x0);
  const h = Math.min(t, image.height - y0);
  const plane = image.width * image.height;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      const src = c * t * t + y * t;
      image.data.set(tile.subarray(src, src + w), c * plane + (y0 + y) * image.width + x0);
    }
  }
}
