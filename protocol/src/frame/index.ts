/** The binary symbol frame, version 1: codec, symbol packing, fragmentation and reassembly. */
export { crc32c, crc32cBackend, crc32cJs } from './crc32c.js';
export { float16BitsToFloat32, float32ToFloat16Bits } from './float16.js';
export {
  BYTES_PER_VALUE,
  FRAME_CRC_LENGTH,
  FRAME_HEADER_LENGTH,
  FRAME_HEADER_LENGTH_RX_SNR,
  FRAME_VERSION,
  RX_SNR_LIMIT_DB,
  MAX_FRAGMENT_COUNT,
  MAX_PAYLOAD_BYTES,
  MAX_TOTAL_SYMBOLS,
  SYMBOL_DTYPES,
  type FrameHeader,
  type FrameHeaderInit,
  type SymbolDtype,
} from './header.js';
export { decodeFrame, encodeFrame, peekFrameHeader, type DecodedFrame } from './codec.js';
export { packSymbols, unpackSymbols, unpackSymbolsInto, type PackedSymbols } from './symbols.js';
export { fragmentSymbols, symbolsPerFragment, type FragmentOptions, type FrameMeta } from './fragment.js';
export {
  Reassembler,
  type DeliveryReason,
  type FrameInfo,
  type ReassembledFrame,
  type ReassemblerOptions,
  type ReassemblerStats,
} from './reassembler.js';
