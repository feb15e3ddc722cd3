/**
 * Small byte arrays carved from shared slabs. Every `new Uint8Array(n)` above V8's on-heap limit (64 bytes)
 * allocates its own off-heap ArrayBuffer, which costs about 1-2 µs: more than encoding a small frame.
 * Node's Buffer pool solves the same problem the same way; this one is portable (browsers, WASM targets).
 * Slab memory is never handed out twice, so what it returns is zero-filled; a kept array keeps its slab
 * (at most SLAB_BYTES) alive, the same trade Node makes.
 */
const SLAB_BYTES = 32 * 1024;
const MAX_POOLED_BYTES = 4 * 1024;

class SlabPool {
  private slab = new Uint8Array(SLAB_BYTES);
  private used = 0;

  alloc(length: number): Uint8Array {
    if (length > MAX_POOLED_BYTES) return new Uint8Array(length);
    if (this.used + length > SLAB_BYTES) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + length);
    // Keep every array 8-byte aligned, so Float32Array/Float64Array views of its payload stay possible.
    this.used = (this.used + length + 7) & ~7;
    return out;
  }
}

/** The pool frames are encoded into (module-wide, like Node's Buffer pool: it holds no data, only spare memory). */
const framePool = new SlabPool();

/** A zero-filled byte array of `length`, from the pool when small. */
export function allocBytes(length: number): Uint8Array {
  return framePool.alloc(length);
}
