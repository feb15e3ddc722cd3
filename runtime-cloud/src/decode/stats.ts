/** The decoder's counters: what arrived, what was decoded, and everything refused, by reason. */
import type { TileDecoderStats } from './tile-decoder.js';

export interface DecoderStats {
  /** link/rx messages (fragments) received. */
  fragmentsReceived: number;
  /** Tiles decoded from received symbols (whole or with erasures). */
  framesDecoded: number;
  /** Of those, frames decoded with fragments missing. */
  framesErased: number;
  /** Fragments or frames refused; `malformedByCode` says why (frame codec codes, UNKNOWN_ACTION, BAD_LENGTH, BAD_KB_ENTRY). */
  framesMalformed: number;
  malformedByCode: Record<string, number>;
  /** Frames seen again after being decoded (QoS 1 redelivery, retransmission): dropped. */
  framesDuplicate: number;
  /** Fragments the reassemblers dropped as repeats (of a pending frame, or of one already delivered). */
  fragmentsDuplicate: number;
  /** Frames whose meta never came: decoded for feedback only (one set loaded), else dropped. */
  framesWithoutMeta: number;
  /** Frames naming a KB version not held here: answered with kbVersionMismatch, not decoded. */
  kbMismatch: number;
  /** Tiles whose frame never arrived: decoded from the prior alone when their image timed out with some tiles received, else only counted. */
  tilesLost: number;
  metasReceived: number;
  metasMalformed: number;
  metasDuplicate: number;
  /** Metas refused by the size limits or budgets (limits.ts); `metasRefusedByReason` says why. */
  metasRefused: number;
  metasRefusedByReason: Record<string, number>;
  /** Open images pushed out by a newer image of their device over the budget. */
  imagesEvicted: number;
  /** Metas and frames of devices outside `--devices` (only with a pattern; ids are subscribed one by one). */
  outOfScope: { metas: number; frames: number };
  unknownModelSet: number;
  feedbackSent: number;
  feedbackFailures: number;
  decodeFailures: number;
  /** Tile decodes dropped unstarted at shutdown. */
  decodesCancelled: number;
  /** Tiles not decoded because 8192 already waited for a lane (TileDecoder maxQueue). */
  decodesShed: number;
  imagesCompleted: number;
  imagesTimedOut: number;
  referenceFailures: number;
  openImages?: number;
  /** Bytes the open images cost against the budget (limits.ts). */
  openImageBytes?: number;
  orphans?: number;
  decoders?: Record<string, TileDecoderStats>;
}

export function emptyStats(): DecoderStats {
  return {
    fragmentsReceived: 0, framesDecoded: 0, framesErased: 0, framesMalformed: 0, malformedByCode: {}, framesDuplicate: 0, fragmentsDuplicate: 0,
    framesWithoutMeta: 0, kbMismatch: 0, tilesLost: 0, metasReceived: 0, metasMalformed: 0, metasDuplicate: 0,
    metasRefused: 0, metasRefusedByReason: {}, imagesEvicted: 0, outOfScope: { metas: 0, frames: 0 },
    unknownModelSet: 0, feedbackSent: 0, feedbackFailures: 0, decodeFailures: 0, decodesCancelled: 0, decodesShed: 0, imagesCompleted: 0, imagesTimedOut: 0,
    referenceFailures: 0,
  };
}

export function countMalformed(stats: DecoderStats, code: string): void {
  stats.framesMalformed++;
  stats.malformedByCode[code] = (stats.malformedByCode[code] ?? 0) + 1;
}
