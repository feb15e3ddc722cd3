/**
 * A set of string keys that forgets its oldest keys beyond a capacity: the decoder's memory of frames it
 * has decoded (device/session/frame), so a QoS 1 redelivery or a retransmission after a broker restart is
 * never decoded twice, in bounded memory. Insertion order is the age (a Set iterates in insertion order).
 */
export class BoundedSet {
  private readonly keys = new Set<string>();

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.keys.size;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Adds `key`; returns false when it was already there (a duplicate). */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next();
      if (oldest.done !== true) this.keys.delete(oldest.value);
    }
    return true;
  }
}
