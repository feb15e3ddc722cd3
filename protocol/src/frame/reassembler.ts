/**
 * Collects the fragments of frames and hands each frame on once, with erasures where fragments are
 * missing: JSCC decodes from whatever arrived, so a lost fragment degrades the image instead of failing.
 *
 * Choices (also in PROTOCOL.md):
 * - Frames are keyed by (device id, session id, frame id). A frame's deadline is fixed when its first
 *   fragment arrives: first arrival + timeoutMs, so latency is bounded even if fragments trickle in.
 * - When a new frame would exceed maxPendingFrames, the frame whose first fragment is oldest is evicted. It
 *   is not lost: it waits, with erasures, in a queue that the next expire() or flush() returns first.
 * - Delivered frames (complete, timed out, evicted or flushed) are remembered (a bounded FIFO of keys), so
 *   a late fragment or retransmission of one is dropped and counted instead of starting a frame again.
 */
import { AkbError, ProtocolError } from '../errors.js';
import { decodeFrame, type DecodedFrame } from './codec.js';
import { BYTES_PER_VALUE, MAX_TOTAL_SYMBOLS, checkHeaderInit, type FrameHeader, type SymbolDtype } from './header.js';
import { unpackSymbolsInto } from './symbols.js';

export interface ReassemblerOptions {
  /** Milliseconds from a frame's first fragment until it is delivered as it stands. */
  readonly timeoutMs: number;
  /** Frames collected at once; one more evicts the oldest. */
  readonly maxPendingFrames: number;
  /** Frames announcing more complex symbols are refused (TOO_LARGE); bounds memory per frame. */
  readonly maxTotalSymbols: number;
  /** Delivered frame keys remembered to drop late fragments; default max(1024, 4 * maxPendingFrames). */
  readonly rememberDelivered?: number;
  /** Clock in milliseconds; Date.now unless a test injects one. */
  readonly now?: () => number;
}

/** The fields that describe a whole frame (the per-fragment ones are gone). */
export interface FrameInfo {
  readonly deviceId: number;
  readonly sessionId: number;
  readonly frameId: number;
  readonly actionId: number;
  readonly dtype: SymbolDtype;
  readonly kbVersion: number;
  readonly hasKbEntry: boolean;
  readonly kbEntry: number;
  readonly fragmentCount: number;
  readonly totalSymbols: number;
  /** Set when any received fragment carried the flag. */
  readonly endOfSession: boolean;
  /** The earliest timestamp among the received fragments. */
  readonly timestampUs: number;
  /**
   * Protocol 1.3: the receiver's measured SNR over the received fragments that carried one (RX_SNR), dB:
   * their noise variances 10^(−s/10) averaged, weighted by symbols. Absent when none carried it.
   */
  readonly rxSnrDb?: number;
}

export type DeliveryReason = 'complete' | 'timeout' | 'evicted' | 'flushed';

export interface ReassembledFrame {
  readonly header: FrameInfo;
  /** Interleaved I,Q, length 2 * totalSymbols; erased symbols are 0. */
  readonly values: Float32Array;
  /** One byte per complex symbol: 1 where it arrived, 0 where it is erased. */
  readonly received: Uint8Array;
  /** Fragment indices that never arrived, ascending. */
  readonly missingFragments: number[];
  readonly complete: boolean;
  readonly reason: DeliveryReason;
}

export interface ReassemblerStats {
  /** Fragments accepted into a frame. */
  fragments: number;
  /** Fragments seen again for a frame still pending: ignored. */
  duplicates: number;
  /** Fragments of a frame already delivered: dropped. */
  late: number;
  /** Fragments refused with INCONSISTENT_FRAGMENT. */
  inconsistent: number;
  /** Inputs refused by the decoder or the size limit. */
  rejected: number;
  completed: number;
  timedOut: number;
  evicted: number;
  flushed: number;
  /** Frames being collected now. */
  pending: number;
}

interface PendingFrame {
  info: { -readonly [K in keyof FrameInfo]: FrameInfo[K] };
  readonly deadline: number;
  readonly values: Float32Array;
  readonly received: Uint8Array;
  /** Received fragments: index -> [symbol offset, symbols]. A Map, so memory follows what arrived, not the claimed count. */
  readonly fragments: Map<number, readonly [offset: number, symbols: number]>;
  /** RX_SNR fragments: symbols and symbol-weighted noise variance (unit-power convention). */
  snrSymbols: number;
  snrNoise: number;
}

function checkOption(name: string, value: number, min: number, max: number): void {
  if (!(Number.isFinite(value) && value >= min && value <= max)) {
    throw new AkbError('INVALID_OPTION', `reassembler option ${name} = ${value} is outside [${min}, ${max}]`);
  }
}

export class Reassembler {
  private readonly timeoutMs: number;
  private readonly maxPendingFrames: number;
  private readonly maxTotalSymbols: number;
  private readonly rememberDelivered: number;
  private readonly clock: () => number;
  private readonly pending = new Map<string, PendingFrame>();
  private readonly delivered = new Set<string>();
  private readonly evictedQueue: ReassembledFrame[] = [];
  private readonly counters: Omit<ReassemblerStats, 'pending'> = {
    fragments: 0, duplicates: 0, late: 0, inconsistent: 0, rejected: 0, completed: 0, timedOut: 0, evicted: 0, flushed: 0,
  };

  constructor(options: ReassemblerOptions) {
    checkOption('timeoutMs', options.timeoutMs, 0, Number.MAX_SAFE_INTEGER);
    checkOption('maxPendingFrames', options.maxPendingFrames, 1, 1e6);
    checkOption('maxTotalSymbols', options.maxTotalSymbols, 0, MAX_TOTAL_SYMBOLS);
    this.timeoutMs = options.timeoutMs;
    this.maxPendingFrames = Math.floor(options.maxPendingFrames);
    this.maxTotalSymbols = options.maxTotalSymbols;
    this.rememberDelivered = Math.floor(options.rememberDelivered ?? Math.max(1024, 4 * this.maxPendingFrames));
    checkOption('rememberDelivered', this.rememberDelivered, 0, 1e7);
    this.clock = options.now ?? Date.now;
  }

  /** A snapshot of the counters. */
  get stats(): ReassemblerStats {
    return { ...this.counters, pending: this.pending.size };
  }

  /**
   * Adds one fragment (encoded bytes, or a frame from decodeFrame). Returns the frame when this fragment
   * completes it, else undefined. Throws only ProtocolError; a refused fragment leaves the collected
   * ones untouched.
   */
  push(input: Uint8Array | DecodedFrame): ReassembledFrame | undefined {
    let frame: DecodedFrame;
    try {
      frame = input instanceof Uint8Array ? decodeFrame(input) : checkDecoded(input);
    } catch (e) {
      this.counters.rejected++;
      throw e;
    }
    const { header: h, payload } = frame;
    const key = `${h.deviceId}/${h.sessionId}/${h.frameId}`;
    if (this.delivered.has(key)) {
      this.counters.late++;
      return undefined;
    }
    let entry = this.pending.get(key);
    const symbols = payload.length / (2 * BYTES_PER_VALUE[h.dtype]);
    if (entry === undefined) {
      if (h.totalSymbols > this.maxTotalSymbols) {
        this.counters.rejected++;
        throw new ProtocolError('TOO_LARGE', `frame of ${h.totalSymbols} symbols exceeds this receiver's ${this.maxTotalSymbols}`, {
          hint: 'raise maxTotalSymbols, or have the sender use smaller tiles',
        });
      }
      if (this.pending.size >= this.maxPendingFrames) this.evictOldest();
      entry = this.open(h);
      this.pending.set(key, entry);
    } else if (!this.accepts(entry, h, symbols)) {
      return undefined;
    }
    unpackSymbolsInto(payload, h.dtype, h.scale, entry.values, 2 * h.symbolOffset);
    entry.received.fill(1, h.symbolOffset, h.symbolOffset + symbols);
    entry.fragments.set(h.fragmentIndex, [h.symbolOffset, symbols]);
    entry.info.endOfSession ||= h.endOfSession;
    entry.info.timestampUs = Math.min(entry.info.timestampUs, h.timestampUs);
    if (h.rxSnrDb !== undefined && symbols > 0) {
      entry.snrSymbols += symbols;
      entry.snrNoise += symbols * 10 ** (-h.rxSnrDb / 10);
    }
    this.counters.fragments++;
    if (entry.fragments.size < h.fragmentCount) return undefined;
    this.pending.delete(key);
    this.counters.completed++;
    return this.deliver(key, entry, 'complete');
  }

  /** Delivers evicted frames and those past their deadline, with erasures. */
  expire(now: number = this.clock()): ReassembledFrame[] {
    const out = this.evictedQueue.splice(0);
    for (const [key, entry] of this.pending) {
      if (entry.deadline > now) continue;
      this.pending.delete(key);
      this.counters.timedOut++;
      out.push(this.deliver(key, entry, 'timeout'));
    }
    return out;
  }

  /** Delivers everything: evicted frames, then every pending frame as it stands (e.g. at shutdown). */
  flush(): ReassembledFrame[] {
    const out = this.evictedQueue.splice(0);
    for (const [key, entry] of this.pending) {
      this.counters.flushed++;
      out.push(this.deliver(key, entry, 'flushed'));
    }
    this.pending.clear();
    return out;
  }

  private open(h: FrameHeader): PendingFrame {
    return {
      info: {
        deviceId: h.deviceId, sessionId: h.sessionId, frameId: h.frameId, actionId: h.actionId, dtype: h.dtype,
        kbVersion: h.kbVersion, hasKbEntry: h.hasKbEntry, kbEntry: h.kbEntry, fragmentCount: h.fragmentCount,
        totalSymbols: h.totalSymbols, endOfSession: h.endOfSession, timestampUs: h.timestampUs,
      },
      deadline: this.clock() + this.timeoutMs,
      values: new Float32Array(2 * h.totalSymbols),
      received: new Uint8Array(h.totalSymbols),
      fragments: new Map(),
      snrSymbols: 0,
      snrNoise: 0,
    };
  }

  /** False for a duplicate (counted); throws INCONSISTENT_FRAGMENT for a fragment that contradicts the frame. */
  private accepts(entry: PendingFrame, h: FrameHeader, symbols: number): boolean {
    const info = entry.info;
    const mismatch =
      h.dtype !== info.dtype ? 'dtype'
      : h.fragmentCount !== info.fragmentCount ? 'fragment count'
      : h.totalSymbols !== info.totalSymbols ? 'total symbols'
      : h.actionId !== info.actionId ? 'action id'
      : h.kbVersion !== info.kbVersion ? 'KB version'
      : h.hasKbEntry !== info.hasKbEntry || (h.hasKbEntry && h.kbEntry !== info.kbEntry) ? 'KB entry'
      : undefined;
    if (mismatch !== undefined) return this.inconsistent(`its ${mismatch} differs from the frame's other fragments`);
    const seen = entry.fragments.get(h.fragmentIndex);
    if (seen !== undefined) {
      if (seen[0] === h.symbolOffset && seen[1] === symbols) {
        this.counters.duplicates++;
        return false;
      }
      return this.inconsistent(`fragment ${h.fragmentIndex} arrived again with other symbols`);
    }
    if (entry.received.subarray(h.symbolOffset, h.symbolOffset + symbols).includes(1)) {
      return this.inconsistent(`its symbols overlap symbols already received`);
    }
    return true;
  }

  private inconsistent(why: string): never {
    this.counters.inconsistent++;
    throw new ProtocolError('INCONSISTENT_FRAGMENT', `fragment refused: ${why}`, {
      hint: 'the sender reused a frame id for different content; the fragment was ignored',
    });
  }

  private evictOldest(): void {
    const oldest = this.pending.entries().next();
    if (oldest.done === true) return;
    const [key, entry] = oldest.value;
    this.pending.delete(key);
    this.counters.evicted++;
    this.evictedQueue.push(this.deliver(key, entry, 'evicted'));
  }

  private deliver(key: string, entry: PendingFrame, reason: DeliveryReason): ReassembledFrame {
    this.delivered.add(key);
    while (this.delivered.size > this.rememberDelivered) {
      const first = this.delivered.values().next();
      if (first.done === true) break;
      this.delivered.delete(first.value);
    }
    const missingFragments: number[] = [];
    for (let i = 0; i < entry.info.fragmentCount; i++) if (!entry.fragments.has(i)) missingFragments.push(i);
    const rxSnrDb = entry.snrSymbols > 0 ? -10 * Math.log10(entry.snrNoise / entry.snrSymbols) : undefined;
    return {
      header: { ...entry.info, ...(rxSnrDb === undefined ? {} : { rxSnrDb }) },
      values: entry.values,
      received: entry.received,
      missingFragments,
      complete: missingFragments.length === 0,
      reason,
    };
  }
}

/** A frame handed in already decoded is checked again, so a hand-built one cannot write out of bounds. */
function checkDecoded(frame: DecodedFrame): DecodedFrame {
  const h = (frame as Partial<DecodedFrame> | null)?.header;
  const payload = (frame as Partial<DecodedFrame> | null)?.payload;
  if (h === undefined || !(payload instanceof Uint8Array) || payload.length !== h.payloadLength) {
    throw new ProtocolError('BAD_LENGTH', 'expected frame bytes or a frame from decodeFrame');
  }
  checkHeaderInit(h, payload.length);
  return frame;
}
