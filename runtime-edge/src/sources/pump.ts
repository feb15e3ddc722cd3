/** Feeds a source's images through the pipeline; a corrupt or odd image is counted and reported, never fatal. */
import { isAkbError } from '@akb/protocol';
import type { EdgePipeline } from '../pipeline/pipeline.js';
import type { ImageReport } from '../pipeline/report.js';
import type { ImageOutcome, ImageSource } from './source.js';

/** What the pump needs of a pipeline. */
export type ImageSink = Pick<EdgePipeline, 'sendBytes'>;

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
  for await (const item of source.images()) {
    let outcome: ImageOutcome;
    try {
      const report = await pipeline.sendBytes(item.bytes, item.name);
      stats.sent++;
      outcome = { ok: true, report };
      safely(() => options.onReport?.(report));
    } catch (error) {
      const corrupt = isAkbError(error) && error.code === 'BAD_IMAGE';
      if (corrupt) stats.corrupt++;
      else stats.failed++;
      outcome = { ok: false, error, corrupt };
      safely(() => options.onError?.(error, item.name, corrupt));
    }
    safely(() => item.done?.(outcome));
  }
  return stats;
}

function safely(f: () => unknown): void {
  try {
    f();
  } catch {
    // an observer's failure is not the pump's
  }
}
