/** Serial flashing's wire format: COBS framing, CRC-32C, the frame types (PROTOCOL.md, "Serial flashing"). */
export * from './cobs.js';
export * from './frames.js';
export * from './deframer.js';
