/**
 * Frame bookkeeping of the edge pipeline: the link session id, microsecond timestamps, and the ledger
 * that remembers the decision behind each frame until its feedback arrives (a ring, so memory stays
 * bounded however much feedback never comes). The numeric device id of frame headers is the protocol's
 * `numericDeviceId`.
 */
import { randomBytes } from 'node:crypto';

/** A random u32 for a new link session. */
export function randomSessionId(): number {
  return randomBytes(4).readUInt32LE(0);
}

/** Microseconds since the epoch, below 2^53. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export interface FrameDecision {
  readonly frameId: number;
  readonly snrBin: number;
  readonly cbin: number;
  /** Index into the set's actions. */
  readonly action: number;
}

/** The decisions of the last `capacity` frames, by frame id; each can be taken once. */
export class FrameLedger {
  private readonly ids: Uint32Array;
  private readonly live: Uint8Array;
  private readonly snrBins: Uint16Array;
  private readonly cbins: Uint8Array;
  private readonly actions: Uint16Array;
  private readonly mask: number;

  constructor(capacity = 1 << 16) {
    const size = 1 << Math.ceil(Math.log2(Math.max(2, capacity)));
    this.mask = size - 1;
    this.ids = new Uint32Array(size);
    this.live = new Uint8Array(size);
    this.snrBins = new Uint16Array(size);
    this.cbins = new Uint8Array(size);
    this.actions = new Uint16Array(size);
  }

  record(frameId: number, snrBin: number, cbin: number, action: number): void {
    const i = frameId & this.mask;
    this.ids[i] = frameId;
    this.live[i] = 1;
    this.snrBins[i] = snrBin;
    this.cbins[i] = cbin;
    this.actions[i] = action;
  }

  /** The decision behind `frameId`, once; undefined when unknown, overwritten or already taken. */
  take(frameId: number): FrameDecision | undefined {
    const i = frameId & this.mask;
    if (!this.live[i] || this.ids[i] !== frameId >>> 0) return undefined;
    this.live[i] = 0;
    return { frameId, snrBin: this.snrBins[i]!, cbin: this.cbins[i]!, action: this.actions[i]! };
  }
}
