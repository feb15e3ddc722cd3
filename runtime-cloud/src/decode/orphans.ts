/**
 * Frames that arrived before their image's meta (meta and frames travel on different topics, at different
 * QoS). They wait here, per device session, until the meta explains them or `metaWaitMs` passes; the
 * total is bounded, the oldest going first.
 */
import type { ReassembledFrame } from '@akb/protocol';

export interface Orphan {
  readonly device: string;
  readonly frame: ReassembledFrame;
  readonly at: number;
}

export class OrphanFrames {
  private readonly bySession = new Map<string, Orphan[]>();
  private count = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.count;
  }

  /** Keeps a frame; returns the oldest frames pushed out by the bound. */
  hold(device: string, frame: ReassembledFrame, now: number): Orphan[] {
    const key = `${device}/${frame.header.sessionId}`;
    const list = this.bySession.get(key) ?? [];
    list.push({ device, frame, at: now });
    this.bySession.set(key, list);
    this.count++;
    return this.count > this.max ? this.take(() => true, this.count - this.max) : [];
  }

  /** Removes and returns the frames of a device session that `claims` accepts. */
  claim(device: string, session: number, claims: (o: Orphan) => boolean): Orphan[] {
    const key = `${device}/${session}`;
    const list = this.bySession.get(key);
    if (list === undefined) return [];
    const claimed = list.filter(claims);
    const rest = list.filter((o) => !claimed.includes(o));
    this.count -= claimed.length;
    if (rest.length > 0) this.bySession.set(key, rest);
    else this.bySession.delete(key);
    return claimed;
  }

  /** Removes and returns up to `limit` of the oldest frames per session for which `pick` holds. */
  take(pick: (o: Orphan) => boolean, limit = Number.POSITIVE_INFINITY): Orphan[] {
    const out: Orphan[] = [];
    for (const [key, list] of this.bySession) {
      while (list.length > 0 && out.length < limit && pick(list[0]!)) out.push(list.shift()!);
      if (list.length === 0) this.bySession.delete(key);
    }
    this.count -= out.length;
    return out;
  }
}
