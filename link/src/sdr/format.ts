/**
 * The sdr-udp IQ burst format (one v1 frame per burst, one complex sample per symbol, `cf32_le`):
 *
 *   preamble (256 BPSK chips) | body: header chips and data symbols, a pilot before every 16 body symbols and one after the last
 *
 * The header block is 76 bytes, BPSK with each bit spread over `headerSpreading` chips (default 8):
 * format version (1), the v1 header length, two zero bytes, the complex symbol count (u32 LE), the v1
 * frame header bytes zero-padded to 64, and the CRC-32C of the 72 bytes before it (u32 LE). The data
 * symbols are the frame payload's complex values at their own scale (unit average power by the JSCC
 * convention). Preamble and pilots are ±1 chips of a 9-bit m-sequence (x^9 + x^5 + 1, seed 1).
 */
import { AkbError, crc32c } from '@akb/protocol';

export const SDR_FORMAT_VERSION = 1;
export const PREAMBLE_LENGTH = 256;
/** Preamble segments combined non-coherently in detection (tolerates frequency offset). */
export const PREAMBLE_SEGMENTS = 4;
export const PILOT_SPACING = 16;
export const HEADER_BLOCK_BYTES = 76;
/** Largest v1 header (56 bytes and up to 8 extension bytes) the header block carries. */
export const MAX_CARRIED_HEADER = 64;

export interface BurstFormatOptions {
  /** Chips per header bit (default 8; 1–64). */
  headerSpreading?: number;
}

export interface BurstLayout {
  headerSpreading: number;
  headerChips: number;
}

export function burstLayout(o: BurstFormatOptions = {}): BurstLayout {
  const headerSpreading = o.headerSpreading ?? 8;
  if (!Number.isInteger(headerSpreading) || headerSpreading < 1 || headerSpreading > 64) {
    throw new AkbError('INVALID_SDR_FORMAT', `headerSpreading must be an integer from 1 to 64, not ${headerSpreading}`);
  }
  return { headerSpreading, headerChips: HEADER_BLOCK_BYTES * 8 * headerSpreading };
}

/** Body symbols (header chips + data) → body samples with pilots: one before every PILOT_SPACING and one at the end. */
export function bodyLengthWithPilots(bodySymbols: number): number {
  return bodySymbols + Math.ceil(bodySymbols / PILOT_SPACING) + 1;
}

/** Samples of a whole burst carrying `symbols` complex data symbols. */
export function burstSamples(layout: BurstLayout, symbols: number): number {
  return PREAMBLE_LENGTH + bodyLengthWithPilots(layout.headerChips + symbols);
}

/** `n` chips (±1) of the m-sequence x^9 + x^5 + 1 from state 1, skipping `skip` chips. */
function mSequence(n: number, skip = 0): Int8Array {
  const out = new Int8Array(n);
  let state = 1;
  for (let i = 0; i < n + skip; i++) {
    const bit = state & 1;
    const feedback = ((state >> 0) ^ (state >> 4)) & 1;
    state = (state >> 1) | (feedback << 8);
    if (i >= skip) out[i - skip] = bit === 1 ? 1 : -1;
  }
  return out;
}

export const PREAMBLE: Int8Array = mSequence(PREAMBLE_LENGTH);
/** Pilot k is PILOTS[k % PILOTS.length]. */
export const PILOTS: Int8Array = mSequence(64, PREAMBLE_LENGTH);

export interface HeaderBlock {
  /** The v1 frame header bytes (56 or more). */
  frameHeader: Uint8Array;
  /** Complex data symbols that follow. */
  symbols: number;
}

/** The 76 header-block bytes. Throws AkbError('SDR_HEADER_TOO_LONG') for a v1 header over 64 bytes. */
export function encodeHeaderBlock(h: HeaderBlock): Uint8Array {
  if (h.frameHeader.length > MAX_CARRIED_HEADER) {
    throw new AkbError('SDR_HEADER_TOO_LONG', `the sdr-udp header block carries v1 headers up to ${MAX_CARRIED_HEADER} bytes, not ${h.frameHeader.length}`);
  }
  const out = new Uint8Array(HEADER_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  out[0] = SDR_FORMAT_VERSION;
  out[1] = h.frameHeader.length;
  view.setUint32(4, h.symbols, true);
  out.set(h.frameHeader, 8);
  view.setUint32(72, crc32c(out.subarray(0, 72)), true);
  return out;
}

/** The header block back, or a reason it is not one (CRC, version, lengths). Never throws. */
export function decodeHeaderBlock(bytes: Uint8Array, maxSymbols: number): HeaderBlock | { error: string } {
  if (bytes.length !== HEADER_BLOCK_BYTES) return { error: `header block of ${bytes.length} bytes` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(72, true) !== crc32c(bytes.subarray(0, 72))) return { error: 'header CRC mismatch' };
  if (bytes[0] !== SDR_FORMAT_VERSION) return { error: `format version ${bytes[0]}` };
  const length = bytes[1]!;
  if (length < 56 || length > MAX_CARRIED_HEADER) return { error: `v1 header length ${length}` };
  const symbols = view.getUint32(4, true);
  if (symbols > maxSymbols) return { error: `${symbols} symbols, over the limit of ${maxSymbols}` };
  return { frameHeader: bytes.slice(8, 8 + length), symbols };
}
