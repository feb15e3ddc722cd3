/**
 * COBS (Consistent Overhead Byte Stuffing, Cheshire and Baker 1999) for the serial flashing line: a frame's
 * bytes are re-coded so that none is zero, and a single 0x00 ends each frame on the wire. Chosen over SLIP
 * because its overhead is bounded (one byte per 254, at most 0.4 %) whatever the data, while SLIP doubles
 * a frame full of its two special bytes; a receiver joining mid-stream resynchronises at the next 0x00.
 */
import { ProtocolError } from '../errors.js';

/** The most bytes COBS adds to `n` bytes (not counting the 0x00 delimiter). */
export function cobsOverhead(n: number): number {
  return Math.floor(n / 254) + 1;
}

/** COBS-encodes `data` (no delimiter appended). */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + cobsOverhead(data.length));
  let codeAt = 0;
  let o = 1;
  let code = 1;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === 0) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
    } else {
      out[o++] = b;
      code++;
      if (code === 0xff) {
        out[codeAt] = code;
        codeAt = o++;
        code = 1;
      }
    }
  }
  out[codeAt] = code;
  return out.subarray(0, o);
}

/** Decodes one COBS block (without its delimiter). ProtocolError BAD_HEADER on a zero or a code past the end. */
export function cobsDecode(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(block.length);
  let o = 0;
  let i = 0;
  while (i < block.length) {
    const code = block[i]!;
    if (code === 0) throw new ProtocolError('BAD_HEADER', 'a COBS block holds a zero byte');
    if (i + code > block.length) {
      throw new ProtocolError('TRUNCATED', `a COBS code ${code} at ${i} runs past the block's ${block.length} bytes`);
    }
    for (let k = 1; k < code; k++) {
      const b = block[i + k]!;
      if (b === 0) throw new ProtocolError('BAD_HEADER', 'a COBS block holds a zero byte');
      out[o++] = b;
    }
    i += code;
    if (code !== 0xff && i < block.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}
