/**
 * Garbage collection when enough large buffers have died: before a decode, after it, and between chunks.
 *
 * An image's pixels (planar float32, 12 bytes a pixel), its decoder's scratch (the file, pngjs's inflated
 * and unfiltered rows and RGBA bitmap: ~8 bytes a pixel more) and each chunk's model outputs, frames and
 * MQTT packets live outside V8's heap, in array buffers freed only when a major GC finds them dead. V8
 * starts one by itself only after ~64 MB of such memory piles up, so 10 photographs of up to 1531x1023
 * kept two or three images' worth of dead buffers resident and peaked at 203-251 MiB. The gate counts
 * what died and collects once `thresholdBytes` have: before a decode (the last image's pixels), after
 * it (its scratch, while its pixels are still needed) and between chunks (their outputs). Measured with
 * the reference models: every decode then starts from ~126 MiB, the level of an edge holding no image.
 *
 * At 8 MiB that is about one collection per Kodak image (768x512) and three per 1.5 Mpixel photograph;
 * 16 MiB made fewer and let Kodak peaks rise by 5-7 MiB (132-136 against 137-142 MiB on ten). A
 * collection of this ~20 MB heap took 20-100 ms (typically 30) on the 2-core test machine under load,
 * about 2.5% of the Kodak images' busy time there.
 *
 * The collector is `globalThis.gc`, present when node runs with `--expose-gc` (bin/akb-edge passes it,
 * with `--no-concurrent-array-buffer-sweeping`, so that dead buffers are freed before gc() returns rather
 * than by a background sweeper racing the next decode); without it the gate does nothing.
 */

/** Bytes an image holds while its tiles are cut: float32 planes, three channels. */
export const PIXEL_BYTES = 12;
/** Bytes of decoder scratch per pixel besides the planes (pngjs: inflated and unfiltered rows, the RGBA bitmap). */
export const SCRATCH_BYTES_PER_PIXEL = 8;
/** Bytes of array buffers a chunk leaves per byte it frames: model outputs, the copied latent, fragments, MQTT packets. */
export const CHUNK_GARBAGE_PER_FRAME_BYTE = 4;

export class GarbageGate {
  private dead = 0;
  collections = 0;

  constructor(
    private readonly collect: (() => void) | undefined = (globalThis as { gc?: () => void }).gc,
    readonly thresholdBytes = 8 * 2 ** 20,
  ) {}

  get enabled(): boolean {
    return this.collect !== undefined;
  }

  /** `bytes` of large buffers became garbage. */
  died(bytes: number): void {
    this.dead += bytes;
  }

  /** Collects when at least the threshold has died since the last collection. Returns whether it did. */
  collectIfDue(): boolean {
    if (this.collect === undefined || this.dead < this.thresholdBytes) return false;
    this.dead = 0;
    this.collections++;
    this.collect();
    return true;
  }
}
