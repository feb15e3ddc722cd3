/**
 * The receive side of the compact link profile: collects the segments of each frame (in any order,
 * duplicates ignored) and hands back the frame's bytes once every segment arrived. Memory is bounded:
 * at most `maxPending` frames in collection, each at most `maxFrameBytes` bytes (checked before anything is
 * stored), and a bounded memory of recently delivered frames to recognise their duplicates. A frame that
 * gets no new segment for `timeoutMs` is dropped and its missing segments counted (a lost segment is
 * detected, not guessed around: the frame layer above decides what a lost frame means). `push` never throws.
 */
import { AkbError, ProtocolError } from '../errors.js';
import { decodeSegment, LINK_SEGMENT_MAX_SEGMENTS, type LinkSegment } from './segment.js';

export interface DesegmenterOptions {
  /** Largest reassembled frame accepted, in bytes (1 to 2^28). */
  readonly maxFrameBytes: number;
  /** Frames collected at once (1 to 65536); a new frame beyond it evicts the least recently active one. */
  readonly maxPending: number;
  /** An incomplete frame that gets no new segment for this long (ms) is dropped. */
  readonly timeoutMs: number;
  /** Clock in milliseconds; Date.now unless a test injects one. */
  readonly now?: () => number;
}

export interface DesegmenterStats {
  /** Packets given to `push`. */
  packets: number;
  /** Segments stored into a frame. */
  segments: number;
  /** Frames delivered whole. */
  frames: number;
  /** Segments seen again (for a frame pending or recently delivered): ignored. */
  duplicates: number;
  /** Packets refused for a failed CRC-16 (`CRC_MISMATCH`). */
  badCrc: number;
  /** Packets refused for their header: `TRUNCATED`, `UNSUPPORTED_VERSION`, `BAD_HEADER`, `BAD_FRAGMENT`, `BAD_LENGTH`. */
  badHeader: number;
  /** Packets refused because their frame or the packet exceeds the limits (`TOO_LARGE`). */
  tooLarge: number;
  /** Segments that contradict their frame's others: segment count, form, sizes or content (`INCONSISTENT_FRAGMENT`). */
  inconsistent: number;
  /** Incomplete frames dropped after `timeoutMs` without a new segment. */
  expired: number;
  /** Incomplete frames dropped to make room for a new one (`maxPending`). */
  evicted: number;
  /** Segments never received of the frames expired or evicted. */
  missingSegments: number;
  /** Frames being collected now. */
  pending: number;
}

/** What `push` did with a packet: a whole frame, a refusal, or neither (stored or a duplicate). */
export interface PushResult {
  readonly frame?: Uint8Array;
  readonly error?: ProtocolError;
}

interface PendingFrame {
  readonly lastIndex: number;
  readonly wide: boolean;
  /** Received segments by index. A Map, so memory follows what arrived, not the claimed count. */
  readonly parts: Map<number, Uint8Array>;
  bytes: number;
  /** Payload length of the segments before the last, once one of them arrived. */
  per: number | undefined;
  /** Payload length of the last segment, once it arrived. */
  lastLength: number | undefined;
  lastActivity: number;
}

function checkOption(name: string, value: number, min: number, max: number): void {
  if (!(Number.isFinite(value) && value >= min && value <= max)) {
    throw new AkbError('INVALID_OPTION', `desegmenter option ${name} = ${String(value)} is outside [${min}, ${max}]`);
  }
}

export class Desegmenter {
  readonly stats: DesegmenterStats = {
    packets: 0,
    segments: 0,
    frames: 0,
    duplicates: 0,
    badCrc: 0,
    badHeader: 0,
    tooLarge: 0,
    inconsistent: 0,
    expired: 0,
    evicted: 0,
    missingSegments: 0,
    pending: 0,
  };
  private readonly maxFrameBytes: number;
  private readonly maxPending: number;
  private readonly timeoutMs: number;
  private readonly clock: () => number;
  private readonly pending = new Map<number, PendingFrame>();
  /** Recently delivered frames by seq: their last index and delivery time. Bounded by `maxRemembered`. */
  private readonly delivered = new Map<number, { readonly lastIndex: number; readonly wide: boolean; readonly at: number }>();
  private readonly maxRemembered: number;

  /** Throws AkbError('INVALID_OPTION') for options out of range. */
  constructor(o: DesegmenterOptions) {
    checkOption('maxFrameBytes', o.maxFrameBytes, 1, 2 ** 28);
    checkOption('maxPending', o.maxPending, 1, LINK_SEGMENT_MAX_SEGMENTS);
    checkOption('timeoutMs', o.timeoutMs, 1, 2 ** 31);
    this.maxFrameBytes = Math.floor(o.maxFrameBytes);
    this.maxPending = Math.floor(o.maxPending);
    this.timeoutMs = o.timeoutMs;
    this.clock = o.now ?? Date.now;
    this.maxRemembered = Math.min(LINK_SEGMENT_MAX_SEGMENTS, Math.max(64, 4 * this.maxPending));
  }

  /** Takes one link packet. Never throws: a refused packet comes back as `error` and is counted. */
  push(packet: Uint8Array): PushResult {
    this.stats.packets++;
    try {
      const now = this.clock();
      this.expire(now);
      return this.accept(decodeSegment(packet), now);
    } catch (e) {
      const error = e instanceof ProtocolError ? e : new ProtocolError('BAD_HEADER', `link packet refused: ${String(e)}`, { cause: e });
      this.count(error);
      return { error };
    }
  }

  /** Drops incomplete frames idle for `timeoutMs` or longer; returns how many. `push` calls it too. */
  expire(now: number = this.clock()): number {
    // Both maps are kept in order of activity (an entry is re-inserted when it changes), so the expired
    // ones are at the front: each call costs what it drops, not what is held.
    let dropped = 0;
    for (const [seq, f] of this.pending) {
      if (f.lastActivity + this.timeoutMs > now) break;
      this.drop(seq, f);
      this.stats.expired++;
      dropped++;
    }
    for (const [seq, d] of this.delivered) {
      if (d.at + this.timeoutMs > now) break;
      this.delivered.delete(seq);
    }
    return dropped;
  }

  private accept(s: LinkSegment, now: number): PushResult {
    const seen = this.delivered.get(s.seq);
    if (seen !== undefined) {
      if (seen.lastIndex === s.lastIndex && seen.wide === s.wide) {
        this.stats.duplicates++;
        return {};
      }
      this.delivered.delete(s.seq); // another frame under a reused sequence number
    }
    let f = this.pending.get(s.seq);
    if (f === undefined) {
      this.checkSize(s.lastIndex, s.index < s.lastIndex ? s.payload.length : undefined, s.index === s.lastIndex ? s.payload.length : undefined);
      if (this.pending.size >= this.maxPending) this.evictOne();
      f = { lastIndex: s.lastIndex, wide: s.wide, parts: new Map(), bytes: 0, per: undefined, lastLength: undefined, lastActivity: now };
      this.pending.set(s.seq, f);
      this.stats.pending = this.pending.size;
    } else if (!this.fits(f, s)) {
      return {};
    }
    if (s.index < s.lastIndex) f.per = s.payload.length;
    else f.lastLength = s.payload.length;
    f.parts.set(s.index, s.payload.slice());
    f.bytes += s.payload.length;
    f.lastActivity = now;
    this.pending.delete(s.seq); // move it to the end: the map stays in order of activity
    this.pending.set(s.seq, f);
    this.stats.segments++;
    if (f.parts.size <= f.lastIndex) return {};
    return { frame: this.deliver(s.seq, f, now) };
  }

  /** False for a duplicate (counted); throws INCONSISTENT_FRAGMENT or TOO_LARGE for a segment its frame cannot take. */
  private fits(f: PendingFrame, s: LinkSegment): boolean {
    const refuse = (why: string): never => {
      throw new ProtocolError('INCONSISTENT_FRAGMENT', `segment ${s.index} of frame ${s.seq} refused: ${why}`, {
        hint: 'two frames share a sequence number, or the sender is faulty',
      });
    };
    if (f.lastIndex !== s.lastIndex || f.wide !== s.wide) refuse(`it says ${s.lastIndex + 1} segments, the frame ${f.lastIndex + 1}`);
    const had = f.parts.get(s.index);
    if (had !== undefined) {
      if (!sameBytes(had, s.payload)) refuse('it repeats an index with other bytes');
      this.stats.duplicates++;
      return false;
    }
    const n = s.payload.length;
    if (s.index < s.lastIndex) {
      if (f.per !== undefined && n !== f.per) refuse(`${n} bytes where the frame's segments carry ${f.per}`);
      if (f.lastLength !== undefined && n < f.lastLength) refuse(`${n} bytes, fewer than the last segment's ${f.lastLength}`);
    } else if (f.per !== undefined && n > f.per) {
      refuse(`the last segment carries ${n} bytes, more than the others' ${f.per}`);
    }
    try {
      this.checkSize(f.lastIndex, s.index < s.lastIndex ? n : f.per, s.index === s.lastIndex ? n : f.lastLength);
    } catch (e) {
      this.drop(s.seq, f); // it can never be delivered: free it now
      throw e;
    }
    return true;
  }

  /** Refuses (TOO_LARGE) a frame whose smallest possible size, from what is known, exceeds maxFrameBytes. */
  private checkSize(lastIndex: number, per: number | undefined, lastLength: number | undefined): void {
    // Every segment before the last carries `per` bytes, and at least as many as the last one.
    const least = per !== undefined ? lastIndex * per + (lastLength ?? 1) : (lastIndex + 1) * Math.max(1, lastLength ?? 1);
    if (least > this.maxFrameBytes) {
      throw new ProtocolError('TOO_LARGE', `a frame of ${lastIndex + 1} segments is at least ${least} bytes, over this receiver's ${this.maxFrameBytes}`);
    }
  }

  private deliver(seq: number, f: PendingFrame, now: number): Uint8Array {
    const frame = new Uint8Array(f.bytes);
    let at = 0;
    for (let i = 0; i <= f.lastIndex; i++) {
      const part = f.parts.get(i)!;
      frame.set(part, at);
      at += part.length;
    }
    this.pending.delete(seq);
    this.stats.pending = this.pending.size;
    this.stats.frames++;
    this.delivered.delete(seq);
    this.delivered.set(seq, { lastIndex: f.lastIndex, wide: f.wide, at: now });
    if (this.delivered.size > this.maxRemembered) this.delivered.delete(this.delivered.keys().next().value!);
    return frame;
  }

  /** Drops the least recently active frame: the first in the map. */
  private evictOne(): void {
    const oldest = this.pending.entries().next();
    if (oldest.done === true) return;
    this.drop(oldest.value[0], oldest.value[1]);
    this.stats.evicted++;
  }

  private drop(seq: number, f: PendingFrame): void {
    this.pending.delete(seq);
    this.stats.pending = this.pending.size;
    this.stats.missingSegments += f.lastIndex + 1 - f.parts.size;
  }

  private count(e: ProtocolError): void {
    if (e.code === 'CRC_MISMATCH') this.stats.badCrc++;
    else if (e.code === 'TOO_LARGE') this.stats.tooLarge++;
    else if (e.code === 'INCONSISTENT_FRAGMENT') this.stats.inconsistent++;
    else this.stats.badHeader++;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
