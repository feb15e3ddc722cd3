/**
 * Image sources of the edge: a folder read once, a watched folder, images sent over MQTT. A source
 * yields named bytes; `pumpImages` decodes and sends them, counting what is corrupt instead of failing.
 */
import type { ImageReport } from '../pipeline/report.js';

export type ImageOutcome = { ok: true; report: ImageReport } | { ok: false; error: unknown; corrupt: boolean };

export interface SourceImage {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Told how the image fared (e.g. to answer the request that brought it). */
  readonly done?: (outcome: ImageOutcome) => void;
}

export interface SourceStats {
  /** Image files or messages the source found. */
  found: number;
  /** Files that could not be read (gone, no permission): not yielded. */
  unreadable: number;
}

export interface ImageSource {
  readonly kind: 'directory' | 'watch' | 'ingest';
  /** The images, in order; ends when the source is exhausted or closed. */
  images(): AsyncIterable<SourceImage>;
  readonly stats: Readonly<SourceStats>;
  close(): Promise<void>;
}

/** File names a folder source takes: PNG and JPEG by extension (the bytes decide in the end). */
export const IMAGE_FILE = /\.(png|jpe?g)$/i;

/** An async queue of images: push from callbacks (fs.watch, MQTT), iterate once. */
export class ImageQueue implements AsyncIterable<SourceImage> {
  private readonly items: SourceImage[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  get size(): number {
    return this.items.length;
  }

  get closed(): boolean {
    return this.ended;
  }

  push(item: SourceImage): void {
    if (this.ended) return;
    this.items.push(item);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceImage> {
    for (;;) {
      const item = this.items.shift();
      if (item) {
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}
