/**
 * One tile through the cloud: the frame's action gives its power, the received power gives the SNR
 * (snr.ts), the KB version and entry give the prior, the decoder gives the pixels; then the tile goes into
 * its image and `feedback` goes back to the edge (measured SNR, erasures, PSNR and reward when the
 * reference is known).
 */
import { isAkbError, topics, type FeedbackMessage, type ReassembledFrame } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import { psnr, type ModelSet } from '@akb/jscc';
import type { ImageBook, ImageState, TileResult } from './images.js';
import type { KbStore } from '../control/kb-service.js';
import { rewardFor, type RewardWeights } from './reward.js';
import { estimateSnr } from './snr.js';
import { countMalformed, type DecoderStats } from './stats.js';
import type { TileDecoder } from './tile-decoder.js';

export interface SetRuntime {
  readonly set: ModelSet;
  readonly decoder: TileDecoder;
}

export interface TileContext {
  readonly client: MqttTransport;
  readonly kb: KbStore;
  readonly book: ImageBook;
  readonly stats: DecoderStats;
  weights(device: string): RewardWeights;
  now(): number;
  report(error: unknown, context: object): void;
}

type Located = { state: ImageState; index: number } | undefined;

/** Decodes a received frame, records its tile and sends its feedback. Never rejects. */
export async function decodeTile(ctx: TileContext, rt: SetRuntime, device: string, frame: ReassembledFrame, located: Located): Promise<void> {
  const h = frame.header;
  const action = rt.set.actions.find((a) => a.id === h.actionId);
  if (action === undefined) return countMalformed(ctx.stats, 'UNKNOWN_ACTION');
  if (h.totalSymbols < 1 || 2 * h.totalSymbols > rt.decoder.width) return countMalformed(ctx.stats, 'BAD_LENGTH');
  // A receiver that measured the SNR (an SDR gateway, protocol 1.3 RX_SNR) is believed; else it is estimated blind.
  const snr = h.rxSnrDb !== undefined ? { snrDb: h.rxSnrDb + action.powerDb } : estimateSnr(frame.values, action.powerDb, frame.received);
  const snrSource = h.rxSnrDb !== undefined ? ('receiver' as const) : ('blind' as const);
  let erased = 0;
  for (const r of frame.received) erased += r === 0 ? 1 : 0;
  const base = {
    index: located?.index ?? -1,
    frameId: h.frameId,
    actionId: action.id,
    channelUses: action.channelUses,
    powerDb: action.powerDb,
    length: h.totalSymbols,
    snrDb: snr.snrDb,
    snrSource,
    fragmentsExpected: h.fragmentCount,
    fragmentsLost: frame.missingFragments.length,
    symbolsErased: erased,
  };
  const feedback = { session: h.sessionId, frameId: h.frameId, snrDb: snr.snrDb, erasures: { fragmentsExpected: base.fragmentsExpected, fragmentsLost: base.fragmentsLost, symbolsErased: erased } };

  let prior: Float32Array | undefined;
  let kbVersion = 0;
  let kbEntry: number | undefined;
  if (rt.decoder.takesPrior) {
    const kb = ctx.kb.get(h.kbVersion);
    if (kb === undefined) {
      ctx.stats.kbMismatch++;
      const current = ctx.kb.current;
      if (located) ctx.book.record(located.state, { ...base, status: 'kb-mismatch' }, current?.globalMean);
      return send(ctx, device, { ...feedback, kbVersion: current?.versionId ?? 0, kbVersionMismatch: true });
    }
    if (h.hasKbEntry && !(h.kbEntry < kb.size)) return countMalformed(ctx.stats, 'BAD_KB_ENTRY');
    kbEntry = h.hasKbEntry ? h.kbEntry : -1;
    prior = kb.prior(kbEntry);
    kbVersion = kb.versionId;
  }

  const amplitude = 10 ** (action.powerDb / 20);
  const latent = frame.values; // the reassembler's buffer, ours now
  if (amplitude !== 1) for (let i = 0; i < latent.length; i++) latent[i] = latent[i]! / amplitude;
  const t0 = performance.now();
  let pixels: Float32Array;
  try {
    pixels = await rt.decoder.decode({ latent, length: h.totalSymbols, prior, snrDb: snr.snrDb });
  } catch (e) {
    if (countCancelled(ctx, e)) return;
    ctx.stats.decodeFailures++;
    return ctx.report(e, { what: 'decode', device, frameId: h.frameId });
  }
  const decodeMs = performance.now() - t0;
  ctx.stats.framesDecoded++;
  if (base.fragmentsLost > 0) ctx.stats.framesErased++;
  const pending = located ? ctx.book.referenceTile(located.state, located.index) : undefined;
  const reference = pending === undefined ? undefined : await pending;
  const measured = reference === undefined ? Number.NaN : psnr(reference, pixels);
  const quality = Number.isNaN(measured) ? undefined : Math.min(200, Math.max(0, measured));
  const reward = quality === undefined ? undefined : clamp(rewardFor(quality, action, ctx.weights(device)), 1e6);
  const result: TileResult = {
    ...base,
    status: base.fragmentsLost > 0 ? 'erased' : 'decoded',
    ...(kbEntry === undefined ? {} : { kbEntry }),
    ...(quality === undefined ? {} : { psnr: quality }),
    ...(reward === undefined ? {} : { reward }),
    decodeMs,
  };
  if (located) ctx.book.record(located.state, result, pixels);
  return send(ctx, device, {
    ...feedback,
    ...(quality === undefined ? {} : { psnr: quality }),
    ...(reward === undefined ? {} : { reward }),
    kbVersion,
    kbVersionMismatch: false,
    decodeMs: Math.min(3_600_000, decodeMs),
  });
}

/** Tiles recorded between two turns of the event loop when lost tiles are filled in. */
export const LOST_TILE_BATCH = 256;

/**
 * Tiles whose frame never arrived, decoded from the prior alone (every symbol erased). Their decoder
 * inputs are all the same (no symbols, the global-mean prior, the lowest SNR, the image's mean length),
 * so one decode serves them all; they are recorded LOST_TILE_BATCH at a time, yielding to the event
 * loop in between, so an image of thousands of lost tiles never holds the process.
 */
export async function lostTiles(ctx: TileContext, rt: SetRuntime, state: ImageState, indices: readonly number[]): Promise<void> {
  if (indices.length === 0) return;
  let sum = 0;
  let n = 0;
  for (const t of state.tiles) {
    if (t?.length === undefined) continue;
    sum += t.length;
    n++;
  }
  const length = n > 0 ? Math.round(sum / n) : Math.max(1, Math.floor(rt.decoder.width / 4));
  const kb = ctx.kb.get(state.meta.kbVersion) ?? ctx.kb.current;
  const prior = rt.decoder.takesPrior ? kb?.globalMean : undefined;
  let pixels: Float32Array | undefined;
  if (!rt.decoder.takesPrior || prior !== undefined) {
    try {
      pixels = await rt.decoder.decode({ latent: new Float32Array(0), length, prior, snrDb: rt.decoder.snrRange.min });
    } catch (e) {
      if (countCancelled(ctx, e)) return;
      ctx.stats.decodeFailures++;
      ctx.report(e, { what: 'decode', device: state.device, image: state.meta.image, lostTiles: indices.length });
    }
  }
  for (let start = 0; start < indices.length; start += LOST_TILE_BATCH) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const index of indices.slice(start, start + LOST_TILE_BATCH)) {
      const result: TileResult = {
        index,
        frameId: (state.meta.firstFrameId + index) >>> 0,
        status: 'lost',
        length,
        ...(rt.decoder.takesPrior ? { kbEntry: -1 } : {}),
        fragmentsExpected: 1,
        fragmentsLost: 1,
        symbolsErased: length,
      };
      ctx.stats.tilesLost++;
      ctx.book.record(state, result, pixels);
    }
  }
}

/**
 * A decode dropped unstarted at shutdown is counted as cancelled, one refused because the lanes' queue is
 * full as shed (OVERLOADED); neither is a failure, and neither is logged tile by tile.
 */
function countCancelled(ctx: TileContext, e: unknown): boolean {
  if (!isAkbError(e)) return false;
  if (e.code === 'OVERLOADED') ctx.stats.decodesShed++;
  else if (e.code === 'CANCELLED' || e.code === 'CLOSED') ctx.stats.decodesCancelled++;
  else return false;
  return true;
}

async function send(ctx: TileContext, device: string, fields: Omit<FeedbackMessage, 'v' | 'ts'>): Promise<void> {
  const message: FeedbackMessage = { v: 1, ts: Math.round(ctx.now()), ...fields, snrDb: clamp(fields.snrDb, 100) };
  try {
    // Built within the schema's bounds above (a test validates every message), so not validated again here.
    await ctx.client.publish(topics.feedback(device), JSON.stringify(message), { qos: 0 });
    ctx.stats.feedbackSent++;
  } catch (e) {
    ctx.stats.feedbackFailures++;
    ctx.report(e, { what: 'feedback', device });
  }
}

function clamp(v: number, limit: number): number {
  return Math.min(limit, Math.max(-limit, v));
}
