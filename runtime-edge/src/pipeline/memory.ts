/**
 * Garbage collection before a decode, when enough large buffers have died since the last one.
 *
 * An image's pixels (12 bytes a pixel as planar float32) and its decoder's scratch (the file, the
 * inflated rows, the RGBA bitmap: ~8 bytes a pixel more) live outside V8's heap, in array buffers that
 * are freed only when a major GC finds them dead. V8 starts one by itself only after about 64 MB of such
 * memory has piled up, so a stream of large photographs kept two or three images' worth of dead buffers
 * resident: 10 photographs of up to 1531x1023 peaked at 203-251 MiB. Collecting just before the next
 * decode, once at least `thresholdBytes` have died, leaves one decode's scratch on top of the base.
 * A collection of this heap takes ~10-40 ms; with the 16 MiB default it runs before every large
 * photograph (seconds of encoding each), every other Kodak image and every ~800 CIFAR-sized ones.
 *
 * The collector is `globalThis.gc`, which exists when node runs with `--expose-gc` (bin/akb-edge passes
 * it); without it the gate does nothing.
 */

/** Bytes an image leaves behind once encoded: its float32 planes and, roughly, its decoder's scratch. */
export const GARBAGE_BYTES_PER_PIXEL = 20;

export class GarbageGate {
  private dead = 0;
  collections = 0;

  constructor(
    private readonly collect: (() => void) | undefined = (globalThis as { gc?: () => void }).gc,
    readonly thresholdBytes = 16 * 2 ** 20,
  ) {}

  get enabled(): boolean {
    return this.collect !== undefined;
  }

  /** `bytes` of large buffers became garbage. */
  died(bytes: number): void {
    this.dead += bytes;
  }

  /** Before a decode: collects when enough has died. Returns whether it did. */
  beforeDecode(): boolean {
    if (this.collect === undefined || this.dead < this.thresholdBytes) return false;
    this.dead = 0;
    this.collections++;
    this.collect();
    return true;
  }
}
