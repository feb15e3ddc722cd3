import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodePng, loadModelSet } from '@akb/jscc';
import { LinkBase, type LinkCapabilities } from '@akb/link';
import { FrameLedger } from './frames.js';
import { GarbageGate, PIXEL_BYTES } from './memory.js';
import { EdgePipeline } from './pipeline.js';

const zoo = fileURLToPath(new URL('../../../models/zoo', import.meta.url));

/** A link that keeps what it is given, or refuses every second frame. */
class TestLink extends LinkBase {
  readonly name = 'test';
  readonly capabilities: LinkCapabilities = { mtu: 400, dtypes: ['float16', 'float32'] };
  readonly frames: (readonly Uint8Array[])[] = [];
  failEvery = 0;
  // eslint-disable-next-line @typescript-eslint/require-await -- the driver interface is async
  async send(fragments: readonly Uint8Array[]): Promise<void> {
    this.check(fragments);
    if (this.failEvery && (this.frames.length + this.counters.sendFailures) % this.failEvery === 0) {
      this.counters.sendFailures++;
      throw new Error('radio busy');
    }
    this.frames.push(fragments);
  }
  async close(): Promise<void> {}
  feed(...args: Parameters<LinkBase['emitFeedback']>): void {
    this.emitFeedback(...args);
  }
}

describe('edge pipeline', () => {
  it('numbers frames per session, fragments to the MTU, counts dropped frames, ignores stray feedback', async () => {
    const set = await loadModelSet(zoo, 'deepjscc-r12-snr7');
    const link = new TestLink();
    const pipeline = await EdgePipeline.create({ deviceId: 'cam', set, link, sessionId: 5, firstFrameId: 0xfffffffe });
    expect(pipeline.dtype).toBe('float32');
    const grey = { width: 64, height: 40, data: new Float32Array(3 * 64 * 40).fill(0.5) };
    const report = await pipeline.sendImage(grey, 'g');
    expect(report).toMatchObject({ tiles: 4, firstFrameId: 0xfffffffe, actions: { 0: 4 }, channelUses: 1024, indexUses: 0, kbEntries: 0, framesDropped: 0 });
    expect(link.frames).toHaveLength(4);
    expect(link.frames.every((f) => f.length === Math.ceil(256 / 42) && f.every((b) => b.length <= 400))).toBe(true);
    link.failEvery = 2;
    const second = await pipeline.sendImage(grey, 'g2');
    expect(second.firstFrameId).toBe(2); // wrapped past 2^32
    expect(second.framesDropped).toBe(2);
    expect(pipeline.counters).toMatchObject({ images: 2, framesSent: 6, framesDropped: 2 });
    // Thrown at it: an image wider than image-meta can say, feedback of another session and of a frame never sent.
    await expect(pipeline.sendImage({ width: 70_000, height: 1, data: new Float32Array(210_000) })).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    const fb = { v: 1 as const, ts: 1, snrDb: 7, erasures: { fragmentsExpected: 7, fragmentsLost: 7 }, kbVersion: 0, kbVersionMismatch: false };
    link.feed({ ...fb, session: 6, frameId: 0xfffffffe });
    link.feed({ ...fb, session: 5, frameId: 77 });
    link.feed({ ...fb, session: 5, frameId: 0xffffffff });
    link.feed({ ...fb, session: 5, frameId: 0xffffffff }); // the same frame again
    expect(pipeline.counters).toMatchObject({ feedbackReceived: 4, feedbackIgnored: 3, framesLost: 1, fragmentsLost: 7, imagesFailed: 1 });
    await pipeline.close();
    await expect(pipeline.sendImage(grey)).rejects.toMatchObject({ code: 'PIPELINE_CLOSED' });
  });

  it('holds the pump back while an image is decoded, until its tiles are cut, and collects once an image has died', async () => {
    // Thrown at it: ready() asked right after sendBytes, the moment the pump used to read and decode the
    // next file while this image (decoded, not yet queued) still held its pixels.
    const set = await loadModelSet(zoo, 'deepjscc-r12-snr7');
    const events: string[] = [];
    const pipeline = await EdgePipeline.create({
      deviceId: 'cam', set, link: new TestLink(), maxBatch: 16,
      garbage: new GarbageGate(() => events.push('gc'), 64 * 64 * PIXEL_BYTES), // one image's planes
      onImageMeta: (m) => events.push(m.name ?? '?'),
    });
    const png = await encodePng({ width: 64, height: 64, data: new Float32Array(3 * 64 * 64).fill(0.25) });
    const first = pipeline.sendBytes(png, 'first');
    await pipeline.ready(1);
    expect(events[0]).toBe('first'); // every tile of it was cut before the pump may go on
    expect(pipeline.queuedTiles).toBe(0);
    const second = pipeline.sendBytes(png, 'second');
    await Promise.all([first, second]);
    expect(events.filter((e) => e !== 'gc')).toEqual(['first', 'second']);
    expect(events.indexOf('gc')).toBeGreaterThan(0); // the first image's planes died before the second was decoded
    expect(events.indexOf('gc')).toBeLessThan(events.indexOf('second'));
    // A file that is no image lets the pump go on too.
    const bad = pipeline.sendBytes(new Uint8Array([1, 2, 3]), 'bad');
    await pipeline.ready(1);
    await expect(bad).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    await pipeline.close();
  });

  it('a ledger that forgets what it overwrote', () => {
    const ledger = new FrameLedger(4);
    ledger.record(1, 3, 2, 7);
    ledger.record(5, 4, 1, 2); // same slot as frame 1
    expect(ledger.take(1)).toBeUndefined();
    expect(ledger.take(5)).toEqual({ frameId: 5, snrBin: 4, cbin: 1, action: 2 });
    expect(ledger.take(5)).toBeUndefined();
  });
});
