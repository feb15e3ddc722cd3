/** What the edge pipeline reports: per image, per feedback, and its running counters. */
import type { FeedbackOutcome } from '../policy/policy.js';

export interface StageTimes {
  /** Decoding PNG/JPEG bytes (only when the pipeline decoded them). */
  decode?: number;
  /** Cutting tiles, measuring their complexity, building the image-meta. */
  tile: number;
  /** Choosing actions (the DQN's run included). */
  policy: number;
  /** Embedder run and nearest KB entries. */
  embed: number;
  /** Encoder run and scaling the latent prefixes. */
  encode: number;
  /** Building the binary frames (fragmentation, packing, CRC). */
  frame: number;
  /** Handing the fragments to the link, and the wait for image-meta's PUBACK (it is published before the encoder runs). */
  send: number;
  total: number;
  /** Of total: time inside onnxruntime's session.run (policy, embedder, encoder). */
  session: number;
}

export interface ImageReport {
  name: string;
  /** Sequence number of the image in the link session (image-meta's `image`). */
  image: number;
  width: number;
  height: number;
  tiles: number;
  firstFrameId: number;
  /** Tiles per action id. */
  actions: Record<number, number>;
  /** Channel uses of all tiles: latent symbols plus index uses. */
  channelUses: number;
  latentSymbols: number;
  indexUses: number;
  /** Tiles whose frame carries a KB entry. */
  kbEntries: number;
  /** Tiles the policy explored on (not its greedy choice). */
  explored: number;
  fragments: number;
  bytes: number;
  /** Frames the link refused or failed to send (their tiles are erased at the receiver). */
  framesDropped: number;
  snrEstimateDb: number;
  /** The last tile's action as telemetry states it: id, symbols sent (index uses included), linear power. */
  lastAction?: { id: number; ratePrefix: number; power: number };
  ms: StageTimes;
}

export interface FeedbackEvent {
  frameId: number;
  snrDb: number;
  psnr?: number;
  /** The decision's action id. */
  actionId: number;
  outcome: FeedbackOutcome;
}

export interface PipelineCounters {
  images: number;
  imagesFailed: number;
  framesSent: number;
  framesDropped: number;
  fragmentsSent: number;
  bytesSent: number;
  feedbackReceived: number;
  /** Feedback of another session, for an unknown frame, or repeated. */
  feedbackIgnored: number;
  framesLost: number;
  fragmentsLost: number;
  kbVersionMismatches: number;
}

export function emptyCounters(): PipelineCounters {
  return {
    images: 0, imagesFailed: 0, framesSent: 0, framesDropped: 0, fragmentsSent: 0, bytesSent: 0,
    feedbackReceived: 0, feedbackIgnored: 0, framesLost: 0, fragmentsLost: 0, kbVersionMismatches: 0,
  };
}
