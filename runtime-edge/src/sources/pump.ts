/** Feeds a source's images through the pipeline; a corrupt or odd image is counted and reported, never fatal. */
import { isAkbError } from '@akb/protocol';
import type { EdgePipeline } from '../pipeline/pipeline.js';
import type { ImageReport } from '../pipeline/report.js';
import type { ImageOutcome, ImageSource } from './source.js';

/**
 * What the pump needs of a pipeline. With `ready`, the pump keeps images queued while the pipeline
 * works (it awaits `ready()` before each one), so small images share the encoder's batches; without,
 * it sends one image at a time.
 */
export type ImageSink = Pick<EdgePipeline, 'sendBytes'> & Partial<Pick<EdgePipeline, 'ready'>>;

export interface PumpStats {
  sent: number;
  /** Not an image, or one the pipeline cannot take (BAD_IMAGE). */
  corrupt: number;
  /** Other failures (the link, the broker). */
  failed: number;
}

export interface PumpOptions {
  onReport?: (report: ImageReport) => void;
  onError?: (error: unknown, name: string, corrupt: boolean) => void;
  /** Counted into (e.g. to read while the pump runs). */
  stats?: PumpStats;
}

export async function pumpImages(source: ImageSource, pipeline: ImageSink, options: PumpOptions = {}): Promise<PumpStats> {
  const stats = options.stats ?? { sent: 0, corrupt: 0, failed: 0 };
  const inflight = new Set<Promise<void>>();
  for await (const item of source.images()) {
    // Only the name and the callback outlive the decode: the file's bytes are let go with `item`.
    const { name, done: told } = item;
    const sent = pipeline.sendBytes(item.bytes, name).then(
      (report): ImageOutcome => {
        stats.sent++;
        safely(() => options.onReport?.(report));
        return { ok: true, report };
      },
      (error: unknown): ImageOutcome => {
        const corrupt = isAkbError(error) && error.code === 'BAD_IMAGE';
        if (corrupt) stats.corrupt++;
        else stats.failed++;
        safely(() => options.onError?.(error, name, corrupt));
        return { ok: false, error, corrupt };
      },
    );
    const done = sent.then((outcome) => safely(() => told?.(outcome)));
    if (!pipeline.ready) {
      await done;
      continue;
    }
    inflight.add(done);
    void done.then(() => inflight.delete(done));
    await pipeline.ready();
  }
  await Promise.all(inflight);
  return stats;
}

function safely(f: () => unknown): void {
  try {
    f();
  } catch {
    // an observer's failure is not the pump's
  }
}
