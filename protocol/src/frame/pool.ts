/**
 * Byte arrays for frames, carved from shared slabs. Every `new Uint8Array(n)` above V8's on-heap limit (64
 * bytes) allocates its own off-heap ArrayBuffer, which costs about 1-2 µs: more than encoding a small frame.
 * Node's Buffer pool solves the same problem the same way; this one is portable (browsers, WASM targets).
 * A kept array keeps its slab alive (at most SLAB_BYTES), the same trade Node makes.
 */
const SLAB_BYTES = 32 * 1024;
const MAX_POOLED_BYTES = 4 * 1024;

class SlabPool {
  private slab: Uint8Array;
  private used = 0;

  constructor(
    private readonly slabBytes: number,
    private readonly makeSlab: (bytes: number) => Uint8Array,
  ) {
    this.slab = makeSlab(slabBytes);
  }

  alloc(length: number): Uint8Array {
    if (this.used + length > this.slabBytes) {
      this.slab = this.makeSlab(this.slabBytes);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + length);
    // Keep every array 8-byte aligned, so Float32Array/Float64Array views of its payload stay possible.
    this.used = (this.used + length + 7) & ~7;
    return out;
  }
}

/** The pool frames are encoded into (module-wide, like Node's Buffer pool: it holds no data, only spare memory). */
const framePool = new SlabPool(SLAB_BYTES, (bytes) => new Uint8Array(bytes));

/** A zero-filled byte array of `length`, from the pool when small. Slab memory is never handed out twice. */
export function allocBytes(length: number): Uint8Array {
  return length > MAX_POOLED_BYTES ? new Uint8Array(length) : framePool.alloc(length);
}

/**
 * Frames above 4 KiB up to LARGE_MAX_BYTES: carved from slabs of LARGE_SLAB_BYTES whose memory is not
 * cleared first (Node's Buffer.allocUnsafeSlow; plain zeroed arrays where there is no Buffer). Only for an
 * encoder that writes every byte of what it gets. Measured in bench/broker.ts's flow (16 KiB frames through
 * Mosquitto): a new zeroed ArrayBuffer per frame cost ~3 µs of allocation, clearing and "external memory"
 * scavenges per message.
 */
const LARGE_MAX_BYTES = 64 * 1024;
const LARGE_SLAB_BYTES = 256 * 1024;

type UnsafeBuffer = { allocUnsafeSlow?: (size: number) => Uint8Array };
const unsafeAlloc = (globalThis as { Buffer?: UnsafeBuffer }).Buffer?.allocUnsafeSlow;
let largePool: SlabPool | undefined;

/**
 * A byte array of `length` whose contents are unspecified: the caller must overwrite every byte. Small
 * arrays come from the zero-filled pool, large ones from uncleared slabs, the largest are new.
 */
export function allocBytesUnfilled(length: number): Uint8Array {
  if (length <= MAX_POOLED_BYTES) return framePool.alloc(length);
  if (length > LARGE_MAX_BYTES) return new Uint8Array(length);
  largePool ??= new SlabPool(LARGE_SLAB_BYTES, (bytes) => {
    if (unsafeAlloc === undefined) return new Uint8Array(bytes);
    const b = unsafeAlloc(bytes);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  });
  return largePool.alloc(length);
}
