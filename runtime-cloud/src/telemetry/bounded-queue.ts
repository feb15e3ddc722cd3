/**
 * A FIFO with a hard bound: pushing onto a full queue drops the oldest item (and counts it), so a store
 * that falls behind costs at most `max` rows of memory and the newest data is what is kept.
 */
export class BoundedQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  /** Items dropped because the queue was full. */
  dropped = 0;
  /** The longest the queue has been. */
  highWater = 0;

  constructor(readonly max: number) {
    if (!(Number.isSafeInteger(max) && max >= 1)) throw new RangeError('queue bound must be a positive integer');
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds `item`; returns how many old items were dropped to make room (0 or 1). */
  push(item: T): number {
    let dropped = 0;
    if (this.length >= this.max) {
      this.items[this.head++] = undefined;
      this.dropped++;
      dropped = 1;
    }
    this.items.push(item);
    this.highWater = Math.max(this.highWater, this.length);
    this.compact();
    return dropped;
  }

  /** Removes and returns up to `n` of the oldest items. */
  take(n: number): T[] {
    const end = Math.min(this.items.length, this.head + n);
    const out = this.items.slice(this.head, end) as T[];
    for (let i = this.head; i < end; i++) this.items[i] = undefined;
    this.head = end;
    this.compact();
    return out;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
