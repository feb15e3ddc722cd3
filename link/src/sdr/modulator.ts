/**
 * TX: one v1 frame → one IQ burst (interleaved I,Q float32 values; see format.ts for the layout).
 * The payload's symbols are dequantized (any dtype) and sent at their own scale.
 */
import { decodeFrame, unpackSymbols } from '@akb/protocol';
import { PILOT_SPACING, PILOTS, PREAMBLE, burstLayout, burstSamples, encodeHeaderBlock, type BurstFormatOptions } from './format.js';

/** Interleaved I,Q of the burst carrying `frame`. Throws the frame decoder's ProtocolError for a bad frame. */
export function modulateFrame(frame: Uint8Array, o: BurstFormatOptions = {}): Float32Array {
  const layout = burstLayout(o);
  const { header, payload } = decodeFrame(frame);
  const values = unpackSymbols(payload, header.dtype, header.scale);
  const symbols = values.length / 2;
  const block = encodeHeaderBlock({ frameHeader: frame.subarray(0, header.headerLength), symbols });
  const out = new Float32Array(2 * burstSamples(layout, symbols));
  let at = 0;
  for (const chip of PREAMBLE) {
    out[at] = chip;
    at += 2;
  }
  let body = 0;
  let pilot = 0;
  const put = (re: number, im: number): void => {
    if (body % PILOT_SPACING === 0) {
      out[at] = PILOTS[pilot++ % PILOTS.length]!;
      at += 2;
    }
    out[at] = re;
    out[at + 1] = im;
    at += 2;
    body++;
  };
  for (let bit = 0; bit < block.length * 8; bit++) {
    const chip = (block[bit >> 3]! >> (7 - (bit & 7))) & 1 ? 1 : -1;
    for (let c = 0; c < layout.headerSpreading; c++) put(chip, 0);
  }
  for (let s = 0; s < symbols; s++) put(values[2 * s]!, values[2 * s + 1]!);
  out[at] = PILOTS[pilot % PILOTS.length]!;
  return out;
}
