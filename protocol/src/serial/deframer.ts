/**
 * Splits the received byte stream at each 0x00 into frames and decodes them. A block longer than
 * MAX_SERIAL_BLOCK is dropped as it grows (the buffer never exceeds the limit), and a block that does not
 * decode is counted and reported, never thrown: on a noisy line the next 0x00 resynchronises.
 */
import { ProtocolError } from '../errors.js';
import { decodeSerialFrame, MAX_SERIAL_BLOCK, type SerialFrame } from './frames.js';

export interface DeframerCounts {
  frames: number;
  /** Blocks that failed to decode (CRC, COBS, fields) or were too long. */
  bad: number;
}

export class SerialDeframer {
  private readonly buf = new Uint8Array(MAX_SERIAL_BLOCK);
  private len = 0;
  private overflow = false;
  readonly counts: DeframerCounts = { frames: 0, bad: 0 };

  constructor(
    private readonly onFrame: (f: SerialFrame) => void,
    private readonly onBad: (e: ProtocolError) => void = () => undefined,
  ) {}

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== 0) {
        if (this.len < this.buf.length) this.buf[this.len++] = b;
        else this.overflow = true;
        continue;
      }
      const len = this.len;
      const overflow = this.overflow;
      this.len = 0;
      this.overflow = false;
      if (len === 0 && !overflow) continue; // an idle delimiter
      if (overflow) {
        this.bad(new ProtocolError('TOO_LARGE', `a serial block over ${MAX_SERIAL_BLOCK} bytes was dropped`));
        continue;
      }
      let frame: SerialFrame;
      try {
        frame = decodeSerialFrame(this.buf.slice(0, len));
      } catch (e) {
        this.bad(e instanceof ProtocolError ? e : new ProtocolError('BAD_HEADER', String(e)));
        continue;
      }
      this.counts.frames++;
      this.onFrame(frame);
    }
  }

  private bad(e: ProtocolError): void {
    this.counts.bad++;
    this.onBad(e);
  }
}
