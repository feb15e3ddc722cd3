/**
 * One image on its way through the pipeline: its tiles may go out in several chunks (a large image), or
 * share a chunk with other images (small ones). The job adds up what its tiles cost and spent, and takes
 * its share of each chunk's stage times by tile count, so the per-image times of a stream add up to the
 * pipeline's busy time.
 */
import type { ImageMetaMessage } from '@akb/protocol';
import type { RgbImage, TileGrid } from '@akb/jscc';
import type { ImageReport, StageTimes } from './report.js';

export type ChunkTimes = Omit<StageTimes, 'decode' | 'total'>;

export class ImageJob {
  /** Next tile to put in a chunk. */
  next = 0;
  /** Tiles framed and handed to the link (or dropped). */
  done = 0;
  started = false;
  failed = false;
  metaSent: Promise<unknown> | undefined;
  readonly promise: Promise<ImageReport>;
  private settle!: { resolve: (r: ImageReport) => void; reject: (e: unknown) => void };
  private readonly actions: Record<number, number> = {};
  private readonly ms: ChunkTimes = { tile: 0, policy: 0, embed: 0, encode: 0, frame: 0, send: 0, session: 0 };
  private sums = { channelUses: 0, latentSymbols: 0, indexUses: 0, kbEntries: 0, explored: 0, fragments: 0, bytes: 0, dropped: 0 };
  private lastAction: ImageReport['lastAction'];
  private snrEstimateDb: number | undefined;
  firstError: unknown;
  readonly width: number;
  readonly height: number;
  private pixels: RgbImage | undefined;

  constructor(
    image: RgbImage,
    readonly name: string,
    readonly grid: TileGrid,
    readonly tiles: number,
    readonly meta: ImageMetaMessage,
    readonly metaText: string,
    readonly decodeMs: number | undefined,
  ) {
    this.pixels = image;
    this.width = image.width;
    this.height = image.height;
    this.promise = new Promise<ImageReport>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.promise.catch(() => undefined); // the caller gets the rejection; no unhandled one here
  }

  /** The pixels, until the last tile is cut (then they are let go, so the next image can be decoded in their place). */
  get image(): RgbImage {
    if (!this.pixels) throw new Error(`${this.name}: every tile was already cut`);
    return this.pixels;
  }

  /** Every tile is in a chunk, or the image failed: the pixels are no longer needed. True the first time. */
  releasePixels(): boolean {
    const held = this.pixels !== undefined;
    this.pixels = undefined;
    return held;
  }

  get remaining(): number {
    return this.tiles - this.next;
  }

  get finished(): boolean {
    return this.done >= this.tiles;
  }

  /** Charges this job `share` (0..1) of a chunk's stage times and notes the chunk's SNR estimate. */
  charge(times: ChunkTimes, share: number, snrEstimateDb: number, explored: number): void {
    for (const k of Object.keys(this.ms) as (keyof ChunkTimes)[]) this.ms[k] += times[k] * share;
    this.snrEstimateDb ??= snrEstimateDb;
    this.sums.explored += explored;
  }

  /** One tile's frame went out (or was dropped, with its error). */
  tileSent(t: { actionId: number; ratePrefix: number; power: number; latent: number; indexUses: number; kbEntry: boolean; fragments: number; bytes: number; error?: unknown }): void {
    this.done++;
    const s = this.sums;
    if (t.error !== undefined) {
      s.dropped++;
      this.firstError ??= t.error;
    } else {
      s.fragments += t.fragments;
      s.bytes += t.bytes;
    }
    this.actions[t.actionId] = (this.actions[t.actionId] ?? 0) + 1;
    s.channelUses += t.latent + t.indexUses;
    s.latentSymbols += t.latent;
    s.indexUses += t.indexUses;
    if (t.kbEntry) s.kbEntries++;
    this.lastAction = { id: t.actionId, ratePrefix: t.ratePrefix, power: t.power };
  }

  get dropped(): number {
    return this.sums.dropped;
  }

  report(): ImageReport {
    const { meta, sums, ms } = this;
    const busy = ms.tile + ms.policy + ms.embed + ms.encode + ms.frame + ms.send;
    return {
      name: this.name, image: meta.image, width: this.width, height: this.height, tiles: this.tiles, firstFrameId: meta.firstFrameId,
      actions: this.actions, channelUses: sums.channelUses, latentSymbols: sums.latentSymbols, indexUses: sums.indexUses,
      kbEntries: sums.kbEntries, explored: sums.explored, fragments: sums.fragments, bytes: sums.bytes, framesDropped: sums.dropped,
      snrEstimateDb: this.snrEstimateDb ?? 0,
      ...(this.lastAction ? { lastAction: this.lastAction } : {}),
      ms: { ...(this.decodeMs === undefined ? {} : { decode: this.decodeMs }), ...ms, total: busy + (this.decodeMs ?? 0) },
    };
  }

  resolve(): void {
    this.settle.resolve(this.report());
  }

  reject(error: unknown): void {
    this.failed = true;
    this.settle.reject(error);
  }
}
