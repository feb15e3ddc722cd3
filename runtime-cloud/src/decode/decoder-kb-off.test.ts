/**
 * Frames from an edge that withheld its source KB (akb-edge --no-kb): the header has no KB entry and all of
 * the action's uses are latent. The cloud, told nothing, decodes them with the KB's global mean (entry -1),
 * as a direct decode with the global mean does; a frame of the same image with an entry is decoded with
 * that entry's prior instead, so the two differ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, topics } from '@akb/protocol';
import { MemoryBus } from '@akb/protocol/mqtt';
import { loadModelSet, psnr, type ModelSet } from '@akb/jscc';
import { CloudDecoder } from './decoder.js';
import type { ImageResult } from './images.js';
import { SetSessions, decodeDirectly, loadFixtureImages, sendImage, type FixtureImages, type SentImage } from '../testing.js';

const DEVICE = 'cam-nokb';

describe('cloud decoder: frames with no KB entry (the source KB withheld)', () => {
  let set: ModelSet;
  let sessions: SetSessions;
  let fx: FixtureImages;
  let bus: MemoryBus;
  let decoder: CloudDecoder;
  const results: ImageResult[] = [];

  beforeAll(async () => {
    set = await loadModelSet('models/zoo', 'akb-k256');
    [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
    bus = new MemoryBus();
    decoder = await CloudDecoder.start({ client: bus.client(), sets: [set], imageTimeoutMs: 300, metaWaitMs: 300, onImage: (r) => results.push(r) });
  });
  afterAll(async () => {
    await decoder?.stop();
    await sessions?.release();
  });

  async function decode(sent: SentImage): Promise<ImageResult> {
    const c = bus.client();
    await c.publish(topics.linkMeta(DEVICE), encodeMessage('image-meta', sent.meta), { qos: 1 });
    for (const t of sent.tiles) for (const f of t.fragments) await c.publish(topics.linkRx(DEVICE), f);
    await expect.poll(() => results.find((r) => r.session === sent.meta.session), { timeout: 8000 }).toBeDefined();
    return results.find((r) => r.session === sent.meta.session)!;
  }

  it('decodes them with the global mean and every use as latent, as a direct decode does', async () => {
    const off = await sendImage(sessions, fx, { width: 64, height: 64, session: 31, image: 0, firstFrameId: 0, snrDb: 1, actionId: 7, seed: 3, withEntry: false });
    expect(off.tiles.every((t) => t.entry === undefined && t.length === 256)).toBe(true);
    const r = await decode(off);
    expect(r.reason).toBe('complete');
    expect(r.tileResults.map((t) => [t.kbEntry, t.length, t.status])).toEqual(new Array(4).fill([-1, 256, 'decoded']));
    const direct = await decodeDirectly(sessions, off, 1);
    // The cloud decodes at the SNR it measures, the direct decode at the true 1 dB: close, not equal.
    const cloud = r.reconstruction.data;
    expect(psnr(direct.data, cloud)).toBeGreaterThan(30);

    // The same image with entries: 16 index uses at 1 dB, decoded with the entries' priors.
    const on = await sendImage(sessions, fx, { width: 64, height: 64, session: 32, image: 0, firstFrameId: 0, snrDb: 1, actionId: 7, seed: 3 });
    const ron = await decode(on);
    expect(ron.tileResults.map((t) => [t.kbEntry! >= 0, t.length])).toEqual(new Array(4).fill([true, 240]));
    expect(psnr(ron.reconstruction.data, cloud)).toBeLessThan(psnr(direct.data, cloud));
  });
});
