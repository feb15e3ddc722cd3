/**
 * Latency with jitter, as netem's `delay <ms> <jitter>` without a distribution table: each fragment is
 * delayed by `latencyMs` plus a jitter drawn uniformly from [−jitterMs, +jitterMs], never below 0 ms.
 * Fragments whose delays differ by more than the time between them arrive reordered, as with netem; a
 * `DelayLine` with `keepOrder` holds a fragment back until those before it (of the same stream) left.
 */
import { AkbError } from '@akb/protocol';
import type { RandomSource } from '@akb/protocol';

export interface LatencySpec {
  /** Mean one-way delay, ms. */
  latencyMs: number;
  /** Half-width of the uniform jitter, ms (0 for none). */
  jitterMs?: number;
}

export class LatencyModel {
  readonly latencyMs: number;
  readonly jitterMs: number;

  constructor(spec: LatencySpec, private readonly random: RandomSource) {
    this.latencyMs = spec.latencyMs;
    this.jitterMs = spec.jitterMs ?? 0;
    for (const [name, v] of [['latency', this.latencyMs], ['jitter', this.jitterMs]] as const) {
      if (!(Number.isFinite(v) && v >= 0)) {
        throw new AkbError('INVALID_CHANNEL', `${name} ${v} ms must be finite and >= 0`);
      }
    }
  }

  /** One delay in ms, >= 0. */
  sample(): number {
    if (this.jitterMs === 0) return this.latencyMs;
    return Math.max(0, this.latencyMs + (2 * this.random() - 1) * this.jitterMs);
  }
}

/** Timers, injectable so a test can run a delay line on a fake clock. */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Pending {
  readonly stream: string;
  readonly dueMs: number;
  readonly deliver: () => void;
  handle: unknown;
}

/**
 * Holds items for their delay, then calls their `deliver`. Zero delays still go through a timer, so
 * callers always see delivery after `push` returns. With `keepOrder`, an item of a stream is never
 * delivered before an earlier item of the same stream: its due time is raised to theirs, and when its
 * timer fires, the earlier items still waiting go first.
 */
export class DelayLine {
  private readonly pending = new Set<Pending>();
  /** keepOrder only: each stream's waiting items in push order, and its latest due time. */
  private readonly queues = new Map<string, Pending[]>();
  private readonly lastDue = new Map<string, number>();

  constructor(
    private readonly options: {
      keepOrder?: boolean;
      scheduler?: Scheduler;
      /** Told when a `deliver` throws; the line goes on with the other items. */
      onError?: (error: unknown) => void;
    } = {},
  ) {}

  private run(item: Pending): void {
    try {
      item.deliver();
    } catch (e) {
      this.options.onError?.(e);
    }
  }

  private get scheduler(): Scheduler {
    return this.options.scheduler ?? realScheduler;
  }

  /** Items waiting. */
  get size(): number {
    return this.pending.size;
  }

  /** Delivers `deliver` after `delayMs` ms (the stream matters only with keepOrder). */
  push(stream: string, delayMs: number, deliver: () => void): void {
    const s = this.scheduler;
    let due = s.now() + delayMs;
    const keepOrder = this.options.keepOrder === true;
    if (keepOrder) {
      due = Math.max(due, this.lastDue.get(stream) ?? Number.NEGATIVE_INFINITY);
      this.lastDue.set(stream, due);
    }
    const item: Pending = { stream, dueMs: due, deliver, handle: undefined };
    this.pending.add(item);
    if (keepOrder) {
      const queue = this.queues.get(stream);
      if (queue === undefined) this.queues.set(stream, [item]);
      else queue.push(item);
    }
    item.handle = s.setTimeout(() => this.fire(item), Math.max(0, due - s.now()));
  }

  private fire(item: Pending): void {
    if (!this.pending.has(item)) return;
    const queue = this.queues.get(item.stream);
    if (queue === undefined) {
      this.pending.delete(item);
      this.run(item);
      return;
    }
    // Everything queued up to this item is due too (due times never decrease within a stream).
    const upTo = queue.indexOf(item);
    const ready = queue.splice(0, upTo + 1);
    if (queue.length === 0) this.queues.delete(item.stream);
    for (const r of ready) {
      this.pending.delete(r);
      if (r !== item) this.scheduler.clearTimeout(r.handle);
      this.run(r);
    }
  }

  /** Delivers everything still waiting now, in due order (e.g. at shutdown). */
  flush(): void {
    const items = [...this.pending].sort((a, b) => a.dueMs - b.dueMs);
    this.pending.clear();
    this.queues.clear();
    for (const item of items) {
      this.scheduler.clearTimeout(item.handle);
      this.run(item);
    }
  }
}
