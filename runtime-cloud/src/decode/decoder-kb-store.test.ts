/**
 * A cloud whose KB service hosts one KB (here akb-k256's, as `akb-cloud` starts the service for the first akb
 * set) while it also decodes a set with another KB (akb-fixed-k1024): the frames naming the second KB's
 * version decode with that set's own priors instead of being refused as a KB mismatch, and a version neither
 * holds is still a mismatch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, topics } from '@akb/protocol';
import { MemoryBus } from '@akb/protocol/mqtt';
import { loadModelSet, psnr, type ModelSet } from '@akb/jscc';
import { CloudDecoder } from './decoder.js';
import type { ImageResult } from './images.js';
import { staticKbStore } from '../control/kb-service.js';
import { SetSessions, decodeDirectly, loadFixtureImages, sendImage, type FixtureImages, type SentImage } from '../testing.js';

const DEVICE = 'cam-two-kbs';

describe('cloud decoder: a hosted KB beside a set with its own KB', () => {
  let agile: ModelSet;
  let fixed: ModelSet;
  let sessions: SetSessions;
  let fx: FixtureImages;
  let bus: MemoryBus;
  let decoder: CloudDecoder;
  const results: ImageResult[] = [];

  beforeAll(async () => {
    [agile, fixed] = await Promise.all([loadModelSet('models/zoo', 'akb-k256'), loadModelSet('models/zoo', 'akb-fixed-k1024')]);
    [sessions, fx] = await Promise.all([SetSessions.create(fixed), loadFixtureImages()]);
    bus = new MemoryBus();
    decoder = await CloudDecoder.start({
      client: bus.client(), sets: [agile, fixed], kb: staticKbStore(agile.kb), lane: 'inline', imageTimeoutMs: 300, metaWaitMs: 300, onImage: (r) => results.push(r),
    });
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

  it("decodes akb-fixed frames with the set's own KB, as a direct decode does", async () => {
    expect(fixed.kb!.versionId).not.toBe(agile.kb!.versionId);
    const sent = await sendImage(sessions, fx, { width: 64, height: 32, session: 1, image: 0, firstFrameId: 0, name: 'fixed', snrDb: 5, actionId: 0, seed: 1 });
    expect(sent.tiles.every((t) => t.entry !== undefined && t.length === 246)).toBe(true); // 10 index uses at 5 dB
    const r = await decode(sent);
    expect(r.tileResults.map((t) => [t.status, t.kbEntry])).toEqual(sent.tiles.map((t) => ['decoded', t.entry]));
    expect(decoder.stats.kbMismatch).toBe(0);
    const direct = await decodeDirectly(sessions, sent, 5);
    expect(Math.abs(psnr(sent.original.data, r.reconstruction.data) - psnr(sent.original.data, direct.data))).toBeLessThan(0.1);
  });

  it('still refuses a version neither the service nor a set holds', async () => {
    const sent = await sendImage(sessions, fx, { width: 32, height: 32, session: 2, image: 0, firstFrameId: 10, name: 'other', snrDb: 5, actionId: 0, seed: 2, kbVersion: 12345 });
    const r = await decode(sent);
    expect(r.tileResults.map((t) => t.status)).toEqual(['kb-mismatch']);
    expect(decoder.stats.kbMismatch).toBe(1);
  });
});
