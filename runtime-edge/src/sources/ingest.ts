/**
 * Images sent over MQTT: the `image.send` operation on the device's command topic (`cmd/req`), args
 * `{"name": "cat.png", "data": "<base64 PNG or JPEG>"}` (within the 256 KiB message limit). The request
 * is answered once the image is sent, with its report, or with the error (BAD_IMAGE for bytes that are
 * not an image). At most `maxQueued` images wait; beyond, BUSY.
 */
import { AkbError } from '@akb/protocol';
import type { RpcHandler } from '@akb/protocol/mqtt';
import { ImageQueue, type ImageOutcome, type ImageSource, type SourceImage, type SourceStats } from './source.js';

export const IMAGE_SEND_OP = 'image.send';

export class IngestSource implements ImageSource {
  readonly kind = 'ingest';
  readonly stats: SourceStats = { found: 0, unreadable: 0 };
  private readonly queue = new ImageQueue();

  constructor(private readonly maxQueued = 16) {}

  images(): AsyncIterable<SourceImage> {
    return this.queue;
  }

  /** The `image.send` handler for the agent's dispatch table. */
  readonly handler: RpcHandler = async (args) => {
    const { name, data } = parseArgs(args);
    if (this.queue.closed) throw new AkbError('SOURCE_CLOSED', 'the edge is shutting down', { hint: 'send the image again later' });
    if (this.queue.size >= this.maxQueued) throw new AkbError('BUSY', `${this.queue.size} images are waiting`, { hint: 'wait for answers before sending more' });
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length === 0) {
      this.stats.unreadable++;
      throw new AkbError('BAD_REQUEST', 'image.send: data holds no bytes', { hint: 'data is the image file in base64' });
    }
    this.stats.found++;
    const outcome = await new Promise<ImageOutcome>((resolve) => this.queue.push({ name, bytes, done: resolve }));
    if (!outcome.ok) throw outcome.error;
    const r = outcome.report;
    return { name: r.name, image: r.image, tiles: r.tiles, firstFrameId: r.firstFrameId, channelUses: r.channelUses, actions: r.actions };
  };

  // eslint-disable-next-line @typescript-eslint/require-await -- part of the async source interface
  async close(): Promise<void> {
    this.queue.end();
  }
}

function parseArgs(args: unknown): { name: string; data: string } {
  const bad = (why: string): AkbError => new AkbError('BAD_REQUEST', `image.send: ${why}`, { hint: 'args: {"name": "<file name>", "data": "<base64 PNG or JPEG>"}' });
  if (typeof args !== 'object' || args === null) throw bad('args must be an object');
  const { name, data } = args as { name?: unknown; data?: unknown };
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw bad('data must be base64');
  if (name !== undefined && (typeof name !== 'string' || name.length > 256)) throw bad('name must be a string of at most 256 characters');
  return { name: name ?? 'ingest', data };
}
