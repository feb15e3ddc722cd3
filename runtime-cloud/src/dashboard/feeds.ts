/**
 * What the dashboard shows besides telemetry, put into the FleetHub here: OTA rollout jobs (their state
 * is retained on akb/v1/ota/job/{job} by whichever `akb deploy` runs them) and the decoder's finished
 * images (a thumbnail each). The telemetry ingest puts telemetry, status and alarms there itself.
 */
import { decodeMessage, filters } from '@akb/protocol';
import type { AkbMessage, Fanout, MqttTransport } from '@akb/protocol/mqtt';
import type { FleetHub } from '../telemetry/hub.js';
import type { ImageResult } from '../decode/images.js';
import { thumbnail } from './thumbnail.js';

export interface FeedCounters {
  jobs: number;
  /** Job messages that were not a valid ota-job, or named another job than their topic. */
  jobsMalformed: number;
  images: number;
  /** Finished images not thumbnailed because the previous ones were still being encoded. */
  imagesSkipped: number;
}

export interface Feed {
  readonly counters: FeedCounters;
  /** Stops; `unsubscribe: false` when the connection closes anyway (no round trip to the broker). */
  stop(options?: { unsubscribe?: boolean }): Promise<void>;
}

/**
 * Subscribes to every job's retained state and publishes each as a `job` event (an empty retained
 * message, which clears the topic, as `message: null`). Invalid states are counted and ignored.
 */
export async function watchOtaJobs(client: MqttTransport, hub: FleetHub, onError?: (error: unknown, topic: string) => void): Promise<Feed> {
  const counters: FeedCounters = { jobs: 0, jobsMalformed: 0, images: 0, imagesSkipped: 0 };
  const onJob = (m: AkbMessage): void => {
    const job = m.topic.split('/')[4] ?? '';
    const receivedAt = Date.now();
    if (m.payload.length === 0) {
      hub.publish({ kind: 'job', job, receivedAt, message: null });
      return;
    }
    try {
      const message = decodeMessage('ota-job', m.payload);
      if (message.job !== job) throw new Error(`the state names job "${message.job}", its topic "${job}"`);
      counters.jobs++;
      hub.publish({ kind: 'job', job, receivedAt, message });
    } catch (e) {
      counters.jobsMalformed++;
      onError?.(e, m.topic);
    }
  };
  const unroute = client.onMessage(filters.allOtaJobs, onJob);
  await client.subscribe(filters.allOtaJobs, { qos: 1 });
  return {
    counters,
    stop: async ({ unsubscribe = true } = {}) => {
      unroute();
      if (unsubscribe) await client.unsubscribe(filters.allOtaJobs).catch(() => undefined);
    },
  };
}

/**
 * Publishes an `image` event with a thumbnail (at most 256 px, PNG) for each finished image. One image
 * is encoded at a time; images that finish meanwhile are skipped (counted), so a burst of images cannot
 * queue PNG work without end: the dashboard shows the latest reconstructions, not every one.
 */
export function feedImages(images: Fanout<ImageResult>, hub: FleetHub, onError?: (error: unknown) => void): Feed {
  const counters: FeedCounters = { jobs: 0, jobsMalformed: 0, images: 0, imagesSkipped: 0 };
  let busy = false;
  let pending: ImageResult | undefined;
  const encode = async (r: ImageResult): Promise<void> => {
    const png = await thumbnail(r.reconstruction);
    counters.images++;
    hub.publish({
      kind: 'image',
      device: r.device,
      receivedAt: r.finishedAt,
      image: {
        device: r.device,
        name: r.name ?? null,
        modelSet: r.modelSet,
        width: r.width,
        height: r.height,
        psnr: r.psnr ?? null,
        meanSnrDb: r.meanSnrDb ?? null,
        complete: r.complete,
        finishedAt: r.finishedAt,
        png,
      },
    });
  };
  const run = async (r: ImageResult): Promise<void> => {
    busy = true;
    try {
      let next: ImageResult | undefined = r;
      while (next !== undefined) {
        await encode(next).catch((e: unknown) => onError?.(e));
        next = pending;
        pending = undefined;
      }
    } finally {
      busy = false;
    }
  };
  const off = images.on((r) => {
    if (!busy) return void run(r);
    // Keep the newest waiting image; the one it replaces is skipped.
    if (pending !== undefined) counters.imagesSkipped++;
    pending = r;
  });
  return {
    counters,
    stop: () => {
      off();
      return Promise.resolve();
    },
  };
}


/**
 * Both feeds, as CloudService runs them: OTA jobs always, thumbnails when it decodes. One Feed whose
 * counters add the two.
 */
export async function startFeeds(client: MqttTransport, hub: FleetHub, images: Fanout<ImageResult> | undefined, onError?: (error: unknown, context: object) => void): Promise<Feed> {
  const jobs = await watchOtaJobs(client, hub, (e, topic) => onError?.(e, { topic, what: 'ota job state' }));
  const thumbs = images ? feedImages(images, hub, (e) => onError?.(e, { what: 'thumbnail' })) : undefined;
  return {
    get counters(): FeedCounters {
      const t = thumbs?.counters;
      return { ...jobs.counters, images: t?.images ?? 0, imagesSkipped: t?.imagesSkipped ?? 0 };
    },
    stop: async (options) => {
      await thumbs?.stop();
      await jobs.stop(options);
    },
  };
}
