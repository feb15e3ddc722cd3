/**
 * The decoder against an in-memory bus (no broker): real encoder and decoder, AWGN added here. The broker
 * suites (both brokers, restarts, shared subscriptions) are in test/e2e/cloud-decode.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, encodeMessage, topics, validateMessage, type FeedbackMessage } from '@akb/protocol';
import { MemoryBus } from '@akb/protocol/mqtt';
import { loadModelSet, psnr, type ModelSet } from '@akb/jscc';
import { CloudDecoder } from './decoder.js';
import type { ImageResult } from './images.js';
import { SetSessions, decodeDirectly, loadFixtureImages, rxFragments, sendImage, type FixtureImages, type SentImage } from '../testing.js';

const DEVICE = 'cam-01';

describe('cloud decoder (in-memory bus)', () => {
  let set: ModelSet;
  let sessions: SetSessions;
  let fx: FixtureImages;
  let bus: MemoryBus;
  let decoder: CloudDecoder;
  const results: ImageResult[] = [];
  const feedback: FeedbackMessage[] = [];
  const edge = (): ReturnType<MemoryBus['client']> => bus.client();

  beforeAll(async () => {
    set = await loadModelSet('models/zoo', 'akb-k256');
    [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
    bus = new MemoryBus();
    const listener = bus.client();
    await listener.subscribe(topics.feedback(DEVICE));
    listener.onMessage(topics.feedback(DEVICE), (m) => feedback.push(validateMessage('feedback', JSON.parse(m.payload.toString()))));
    decoder = await CloudDecoder.start({
      client: bus.client(),
      sets: [set],
      imageTimeoutMs: 300,
      metaWaitMs: 300,
      references: (name) => Promise.resolve(name === 'ref' ? reference : undefined),
      onImage: (r) => results.push(r),
    });
  });
  afterAll(async () => {
    await decoder?.stop();
    await sessions?.release();
  });

  let reference: SentImage['original'] | undefined;

  async function send(sent: SentImage, options: { skip?: number[]; repeat?: boolean } = {}): Promise<void> {
    const c = edge();
    await c.publish(topics.linkMeta(DEVICE), encodeMessage('image-meta', sent.meta), { qos: 1 });
    for (const [i, t] of sent.tiles.entries()) {
      if (options.skip?.includes(i)) continue;
      for (const f of t.fragments) await c.publish(topics.linkRx(DEVICE), f);
      if (options.repeat === true) for (const f of t.fragments) await c.publish(topics.linkRx(DEVICE), f);
    }
  }

  const resultOf = async (session: number, image: number): Promise<ImageResult> => {
    await expect.poll(() => results.find((r) => r.session === session && r.image === image), { timeout: 8000 }).toBeDefined();
    return results.find((r) => r.session === session && r.image === image)!;
  };

  it('decodes an odd-sized image as a direct decode does, with feedback per tile, each frame once', async () => {
    // Thrown at it: a 70x45 image (6 tiles, padded edges) at 5 dB, every fragment sent twice.
    const sent = await sendImage(sessions, fx, { width: 70, height: 45, session: 11, image: 0, firstFrameId: 100, name: 'ref', snrDb: 5, actionId: 7, seed: 1 });
    reference = sent.original;
    const before = decoder.stats;
    await send(sent, { repeat: true });
    const r = await resultOf(11, 0);
    const direct = await decodeDirectly(sessions, sent, 5 + sent.tiles[0]!.action.powerDb);
    expect(r.reason).toBe('complete');
    expect(r.counts.decoded).toBe(6);
    expect(Math.abs(r.psnr! - psnr(sent.original.data, direct.data))).toBeLessThan(0.1);
    expect(r.psnr!).toBeGreaterThan(18);
    expect(decoder.stats.framesDecoded - before.framesDecoded).toBe(6);
    const after = decoder.stats;
    expect(after.framesDuplicate + after.fragmentsDuplicate - before.framesDuplicate - before.fragmentsDuplicate).toBe(6);
    await expect.poll(() => feedback.filter((f) => f.session === 11).length).toBe(6);
    for (const f of feedback.filter((x) => x.session === 11)) {
      expect(f.kbVersionMismatch).toBe(false);
      expect(f.kbVersion).toBe(set.kb!.versionId);
      expect(f.snrDb).toBeGreaterThan(1);
      expect(f.snrDb).toBeLessThan(9);
      expect(f.reward).toBeCloseTo(f.psnr! - 256 / 256 - 1, 6);
    }
  });

  it('answers a frame of another KB version with kbVersionMismatch and does not decode it', async () => {
    // Thrown at it: frames naming KB version 12345, which this cloud does not hold.
    const sent = await sendImage(sessions, fx, { width: 32, height: 64, session: 12, image: 0, firstFrameId: 0, snrDb: 8, actionId: 4, kbVersion: 12345, seed: 2 });
    const before = decoder.stats;
    await send(sent);
    const r = await resultOf(12, 0);
    expect(r.counts['kb-mismatch']).toBe(2);
    expect(decoder.stats.framesDecoded).toBe(before.framesDecoded);
    expect(decoder.stats.kbMismatch - before.kbMismatch).toBe(2);
    await expect.poll(() => feedback.filter((f) => f.session === 12).length).toBe(2);
    expect(feedback.filter((f) => f.session === 12).every((f) => f.kbVersionMismatch && f.psnr === undefined)).toBe(true);
  });

  it('decodes a lost tile from the prior and a fragmented tile with erasures', async () => {
    // Thrown at it: 4 tiles over a 600-byte MTU; tile 1 never sent, tile 2 missing its first fragment.
    const sent = await sendImage(sessions, fx, { width: 64, height: 64, session: 13, image: 3, firstFrameId: 4_294_967_294, name: 'ref', snrDb: 10, actionId: 10, mtu: 600, seed: 3 });
    reference = sent.original;
    sent.tiles[2]!.fragments.shift();
    await send(sent, { skip: [1] });
    const r = await resultOf(13, 3);
    expect(r.reason).toBe('timeout');
    expect([r.counts.decoded, r.counts.erased, r.counts.lost]).toEqual([2, 1, 1]);
    expect(r.tileResults[2]!.fragmentsLost).toBe(1);
    expect(r.tileResults[1]!.psnr).toBeUndefined();
    expect(Number.isFinite(r.psnr)).toBe(true);
    const whole = results.find((x) => x.session === 11)!;
    expect(r.psnr!).toBeLessThan(whole.psnr! + 3);
  });

  it('decodes with the receiver\'s SNR when the frames carry RX_SNR (protocol 1.3), blind otherwise', async () => {
    // Thrown at it: the fragments of a 5 dB image re-published as an SDR gateway would, with RX_SNR 5 dB;
    // one tile's fragments stay without it. A tile says which SNR it used; feedback carries that value.
    const sent = await sendImage(sessions, fx, { width: 64, height: 32, session: 15, image: 0, firstFrameId: 0, name: 'ref', snrDb: 5, actionId: 7, seed: 6 });
    reference = sent.original;
    const tagged = sent.tiles[0]!.fragments.map((f) => {
      const { header: { headerLength: _, ...header }, payload } = decodeFrame(f);
      return encodeFrame({ ...header, rxSnrDb: 5 }, payload);
    });
    sent.tiles[0]!.fragments.splice(0, tagged.length, ...tagged);
    await send(sent);
    const r = await resultOf(15, 0);
    const power = sent.tiles[0]!.action.powerDb;
    expect(r.tileResults[0]).toMatchObject({ status: 'decoded', snrSource: 'receiver', snrDb: 5 + power });
    expect(r.tileResults[1]!.snrSource).toBe('blind');
    expect(r.tileResults[1]!.snrDb).not.toBe(5 + power);
    await expect.poll(() => feedback.filter((f) => f.session === 15).length).toBe(2);
    expect(feedback.find((f) => f.session === 15 && f.frameId === 0)!.snrDb).toBeCloseTo(5 + power, 5);
    // Decoded as a direct decode at the true SNR does (the receiver's value is the truth here).
    expect(r.tileResults[0]!.psnr!).toBeGreaterThan(15);
  });

  it('counts malformed frames and metas, unknown sets and actions, and keeps decoding', async () => {
    const before = decoder.stats;
    const c = edge();
    await c.publish(topics.linkRx(DEVICE), Buffer.from('not a frame'));
    const sent = await sendImage(sessions, fx, { width: 32, height: 32, session: 14, image: 0, firstFrameId: 0, snrDb: 5, actionId: 99 % 15, seed: 4 });
    const broken = Uint8Array.from(sent.tiles[0]!.fragments[0]!);
    broken[70] = broken[70]! ^ 0xff; // payload byte: CRC mismatch
    await c.publish(topics.linkRx(DEVICE), broken);
    await c.publish(topics.linkMeta(DEVICE), '{"v":1,"session":"x"}');
    await c.publish(topics.linkMeta(DEVICE), encodeMessage('image-meta', { ...sent.meta, image: 1, modelSet: 'no-such-set' }));
    await send(sent);
    // A frame with an action id the set does not have, and no meta: decoded without an image, refused.
    const [bad] = rxFragments({ deviceId: 7, sessionId: 14, frameId: 77, actionId: 200, kbVersion: set.kb!.versionId, timestampUs: 1 }, new Float32Array(64));
    await c.publish(topics.linkRx(DEVICE), bad!);
    await resultOf(14, 0);
    await expect.poll(() => decoder.stats.malformedByCode.UNKNOWN_ACTION, { timeout: 3000 }).toBe(1);
    const s = decoder.stats;
    expect(s.framesMalformed - before.framesMalformed).toBe(3);
    expect(s.malformedByCode.CRC_MISMATCH).toBeGreaterThanOrEqual(1);
    expect(s.metasMalformed - before.metasMalformed).toBe(1);
    expect(s.unknownModelSet - before.unknownModelSet).toBe(1);
  });
});

describe.each(['deepjscc-r12-adaptive', 'deepjscc-r12-snr7'])('cloud decoder, baseline set %s (no KB)', (name) => {
  it('feeds the decoder by its card (no prior; snr_db only where the card has it)', async () => {
    const set = await loadModelSet('models/zoo', name);
    const [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
    const bus = new MemoryBus();
    const results: ImageResult[] = [];
    const decoder = await CloudDecoder.start({ client: bus.client(), sets: [set], lane: 'inline', references: () => Promise.resolve(sent.original), onImage: (r) => results.push(r) });
    const sent = await sendImage(sessions, fx, { width: 64, height: 32, session: 5, image: 0, firstFrameId: 9, name: 'x', snrDb: 7, actionId: 0, seed: 5 });
    try {
      const c = bus.client();
      await c.publish(topics.linkMeta(DEVICE), encodeMessage('image-meta', sent.meta));
      for (const t of sent.tiles) for (const f of t.fragments) await c.publish(topics.linkRx(DEVICE), f);
      await expect.poll(() => results.length, { timeout: 8000 }).toBe(1);
      const direct = await decodeDirectly(sessions, sent, 7);
      expect(Math.abs(results[0]!.psnr! - psnr(sent.original.data, direct.data))).toBeLessThan(0.1);
      expect(results[0]!.psnr!).toBeGreaterThan(20);
      expect(results[0]!.tileResults.every((t) => t.kbEntry === undefined)).toBe(true);
    } finally {
      await decoder.stop();
      await sessions.release();
    }
  });
});
