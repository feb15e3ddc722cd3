/**
 * Per-device token buckets: each device may send `rate` messages a second on average and `burst` at once.
 * A flood from one device empties only its own bucket, so the rest of the fleet is unaffected. At most
 * `maxKeys` buckets are kept (the least recently used is forgotten: a forgotten device starts full again,
 * which costs at most one burst), so a flood of made-up device ids cannot grow memory.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError('rate must be a positive number of messages a second');
    if (!(burst >= 1 && Number.isFinite(burst))) throw new RangeError('burst must be at least 1');
  }

  /** Takes one token from `key`'s bucket; false when it is empty (the message should be dropped). */
  take(key: string): boolean {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.burst, at: now };
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    } else {
      this.buckets.delete(key); // re-inserted below: least recently used first
      b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.rate);
      b.at = now;
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}
