/**
 * The images being received: one state per `image-meta`, found again from a frame by (device, session,
 * frame id in [firstFrameId, firstFrameId + tiles)), decoded tiles placed into the reconstruction with the
 * edge padding cropped, and a result per image when every tile is accounted for or the image times out.
 * Recent results stay in a ring (for a report or dashboard).
 */
import type { ImageMetaMessage } from '@akb/protocol';
import { extractTile, psnr, tileGrid, type RgbImage, type TileGrid } from '@akb/jscc';

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
  readonly tileResults: readonly TileResult[];
  /** Whole-image PSNR against the reference, when one is known and every tile was handled here. */
  readonly psnr: number | undefined;
  /** Mean effective SNR over the tiles that arrived. */
  readonly meanSnrDb: number | undefined;
  readonly counts: Readonly<Record<TileStatus, number>>;
  /** Every tile's frame arrived here whole. */
  readonly complete: boolean;
  readonly reason: 'complete' | 'timeout' | 'stopped';
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** Finds an image's original by the name in its meta. */
export type ReferenceResolver = (name: string) => Promise<RgbImage | undefined>;

export interface ImageState {
  readonly key: string;
  readonly device: string;
  readonly meta: ImageMetaMessage;
  readonly grid: TileGrid;
  readonly reconstruction: RgbImage;
  readonly tiles: (TileResult | undefined)[];
  readonly reference: Promise<RgbImage | undefined>;
  readonly startedAt: number;
  handled: number;
  /** Frames of this image being decoded now. */
  inFlight: number;
  deadline: number;
  closing: boolean;
}

export interface ImageBookOptions {
  imageTimeoutMs: number;
  ringSize: number;
  references?: ReferenceResolver;
  onReferenceError?: (error: unknown, name: string) => void;
  now: () => number;
}

const NO_REFERENCE: Promise<undefined> = Promise.resolve(undefined);

/** Open images kept per device session; an older one beyond this is finished as it stands. */
const IMAGES_PER_SESSION = 64;

export class ImageBook {
  private readonly open = new Map<string, ImageState>();
  private readonly bySession = new Map<string, ImageState[]>();
  private readonly ring: ImageResult[] = [];

  constructor(private readonly options: ImageBookOptions) {}

  get openImages(): number {
    return this.open.size;
  }

  /** Recent results, oldest first. */
  recent(): ImageResult[] {
    return [...this.ring];
  }

  has(key: string): boolean {
    return this.open.has(key);
  }

  /** Opens the image a meta announces; returns the states pushed out to make room (to be finished). */
  add(key: string, device: string, meta: ImageMetaMessage): { state: ImageState; evicted: ImageState[] } {
    const grid = tileGrid(meta.width, meta.height, meta.tile);
    const now = this.options.now();
    const state: ImageState = {
      key,
      device,
      meta,
      grid,
      reconstruction: { width: meta.width, height: meta.height, data: new Float32Array(3 * meta.width * meta.height) },
      tiles: new Array<TileResult | undefined>(meta.tiles).fill(undefined),
      reference: this.resolve(meta),
      startedAt: now,
      handled: 0,
      inFlight: 0,
      deadline: now + this.options.imageTimeoutMs,
      closing: false,
    };
    this.open.set(key, state);
    const sessionKey = `${device}/${meta.session}`;
    const list = this.bySession.get(sessionKey) ?? [];
    list.push(state);
    this.bySession.set(sessionKey, list);
    const evicted = list.length > IMAGES_PER_SESSION ? list.slice(0, list.length - IMAGES_PER_SESSION) : [];
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
    if (state.tiles[result.index] === undefined) state.handled++;
    state.tiles[result.index] = result;
    if (pixels !== undefined) placeRows(state.reconstruction, state.grid, result.index, pixels);
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

  /** Closes an image whose tiles are all recorded and builds its result (kept in the ring). */
  async finish(state: ImageState, reason: ImageResult['reason']): Promise<ImageResult> {
    this.forget(state);
    const tiles = state.tiles.map((t, i) => t ?? { index: i, frameId: (state.meta.firstFrameId + i) >>> 0, status: 'elsewhere' as const, fragmentsExpected: 0, fragmentsLost: 0, symbolsErased: 0 });
    const counts: Record<TileStatus, number> = { decoded: 0, erased: 0, lost: 0, 'kb-mismatch': 0, elsewhere: 0 };
    for (const t of tiles) counts[t.status]++;
    const snrs = tiles.flatMap((t) => (t.snrDb === undefined ? [] : [t.snrDb]));
    const ref = await state.reference;
    const m = state.meta;
    const result: ImageResult = {
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
      reconstruction: state.reconstruction,
      tileResults: tiles,
      psnr: ref !== undefined && counts.elsewhere === 0 ? psnr(ref.data, state.reconstruction.data) : undefined,
      meanSnrDb: snrs.length > 0 ? snrs.reduce((a, b) => a + b, 0) / snrs.length : undefined,
      counts,
      complete: counts.decoded === m.tiles,
      reason,
      startedAt: state.startedAt,
      finishedAt: this.options.now(),
    };
    this.ring.push(result);
    while (this.ring.length > this.options.ringSize) this.ring.shift();
    return result;
  }

  private forget(state: ImageState): void {
    state.closing = true;
    this.open.delete(state.key);
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
