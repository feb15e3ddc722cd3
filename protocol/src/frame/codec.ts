/**
 * One frame to bytes and back. The decoder is meant for hostile input: whatever it is given, it returns a
 * frame or throws a ProtocolError, and it checks in a fixed order (PROTOCOL.md) so every peer reports the
 * same code for the same bytes: first what is needed to find the CRC, then the CRC, then the fields.
 */
import { ProtocolError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { allocBytesUnfilled } from './pool.js';
import {
  FRAME_CRC_LENGTH,
  FRAME_HEADER_LENGTH,
  FRAME_MAGIC_0,
  FRAME_MAGIC_1,
  FRAME_VERSION,
  MAX_PAYLOAD_BYTES,
  checkHeaderFields,
  checkHeaderInit,
  initHeaderLength,
  readHeader,
  writeHeader,
  type FrameHeader,
  type FrameHeaderInit,
} from './header.js';

export interface DecodedFrame {
  readonly header: FrameHeader;
  /** A view into the decoded bytes (no copy): copy it if you keep it longer than the input buffer. */
  readonly payload: Uint8Array;
}

/** Encodes one frame (one fragment). Throws ProtocolError for a header the decoder would refuse. */
export function encodeFrame(header: FrameHeaderInit, payload: Uint8Array): Uint8Array {
  const out = openFrame(header, payload.length);
  out.set(payload, out.length - FRAME_CRC_LENGTH - payload.length);
  return sealFrame(out);
}

/**
 * Encodes one frame whose `payloadLength` bytes `writePayload` writes in place, so a sender that produces its
 * payload (fragmentSymbols packing symbols) skips the array and the copy encodeFrame needs. `writePayload`
 * must write every byte of the view it gets, whose prior contents are unspecified. Throws ProtocolError for
 * a header the decoder would refuse, before calling `writePayload`.
 */
export function encodeFrameWith(header: FrameHeaderInit, payloadLength: number, writePayload: (payload: Uint8Array) => void): Uint8Array {
  const out = openFrame(header, payloadLength);
  const bodyLength = out.length - FRAME_CRC_LENGTH;
  writePayload(out.subarray(bodyLength - payloadLength, bodyLength));
  return sealFrame(out);
}

/** A checked header written into a zero-filled frame of the right length. */
function openFrame(header: FrameHeaderInit, payloadLength: number): Uint8Array {
  checkHeaderInit(header, payloadLength);
  const headerLength = initHeaderLength(header);
  // Every byte is written: the header here (extensions, then zeros), the payload by the caller, the CRC last.
  const out = allocBytesUnfilled(headerLength + payloadLength + FRAME_CRC_LENGTH);
  writeHeader(new DataView(out.buffer, out.byteOffset, out.byteLength), header, headerLength, payloadLength);
  return out;
}

/** Writes the CRC-32C of everything before the last four bytes into them, little-endian. */
function sealFrame(out: Uint8Array): Uint8Array {
  const bodyLength = out.length - FRAME_CRC_LENGTH;
  const crc = crc32c(out.subarray(0, bodyLength));
  out[bodyLength] = crc & 0xff;
  out[bodyLength + 1] = (crc >>> 8) & 0xff;
  out[bodyLength + 2] = (crc >>> 16) & 0xff;
  out[bodyLength + 3] = crc >>> 24;
  return out;
}

/**
 * CRC-32C of a frame's body followed by its stored CRC (little-endian) when the two agree: checking this over
 * the whole frame is the same test as comparing the stored CRC with that of the body, without a sub-view.
 */
const CRC32C_RESIDUE = 0x48674bc7;

/** Checks magic, version and minimum size, and returns a view on the frame's bytes. */
function openHeader(bytes: unknown): DataView {
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError('BAD_LENGTH', `a frame must be a Uint8Array, got ${typeof bytes}`);
  }
  if ((bytes.length >= 1 && bytes[0] !== FRAME_MAGIC_0) || (bytes.length >= 2 && bytes[1] !== FRAME_MAGIC_1)) {
    throw new ProtocolError('BAD_MAGIC', 'not an akb symbol frame (magic is not "AK")');
  }
  if (bytes.length >= 3 && bytes[2] !== FRAME_VERSION) {
    throw new ProtocolError('UNSUPPORTED_VERSION', `frame version ${bytes[2]} is not supported (this peer speaks ${FRAME_VERSION})`, {
      hint: 'upgrade the receiver, or configure the sender for frame version 1',
    });
  }
  if (bytes.length < FRAME_HEADER_LENGTH) {
    throw new ProtocolError('TRUNCATED', `${bytes.length} bytes cannot hold a ${FRAME_HEADER_LENGTH}-byte frame header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint8(4);
  if (headerLength < FRAME_HEADER_LENGTH) {
    throw new ProtocolError('BAD_HEADER', `header length ${headerLength} is below ${FRAME_HEADER_LENGTH}`);
  }
  if (bytes.length < headerLength) {
    throw new ProtocolError('TRUNCATED', `${bytes.length} bytes cannot hold a ${headerLength}-byte frame header`);
  }
  return view;
}

function finishHeader(view: DataView): FrameHeader {
  const header = readHeader(view);
  checkHeaderFields(header, header.payloadLength);
  return header;
}

/**
 * Decodes one frame that must fill `bytes` exactly (an MQTT message carries one frame). Throws only
 * ProtocolError: TRUNCATED, BAD_MAGIC, UNSUPPORTED_VERSION, BAD_HEADER, BAD_DTYPE, BAD_LENGTH,
 * BAD_FRAGMENT, CRC_MISMATCH or TOO_LARGE.
 */
export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  const view = openHeader(bytes);
  const headerLength = view.getUint8(4);
  const payloadLength = view.getUint32(44, true);
  if (payloadLength > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError('TOO_LARGE', `payload of ${payloadLength} bytes exceeds the limit of ${MAX_PAYLOAD_BYTES}`);
  }
  const bodyLength = headerLength + payloadLength;
  const expected = bodyLength + FRAME_CRC_LENGTH;
  if (bytes.length < expected) {
    throw new ProtocolError('TRUNCATED', `frame needs ${expected} bytes, got ${bytes.length}`);
  }
  if (bytes.length > expected) {
    throw new ProtocolError('BAD_LENGTH', `frame of ${expected} bytes followed by ${bytes.length - expected} extra bytes`, {
      hint: 'send exactly one frame per message',
    });
  }
  if (crc32c(bytes) !== CRC32C_RESIDUE) {
    const stored = view.getUint32(bodyLength, true);
    const actual = crc32c(bytes.subarray(0, bodyLength));
    throw new ProtocolError('CRC_MISMATCH', `CRC-32C 0x${hex32(actual)} does not match the stored 0x${hex32(stored)}`, {
      hint: 'the frame was corrupted in transit; treat its symbols as erased',
    });
  }
  return { header: finishHeader(view), payload: bytes.subarray(headerLength, bodyLength) };
}

/**
 * The header of a frame without checking its length or CRC, for routing before a full decode. Its fields
 * are untrusted until decodeFrame accepts the frame. Throws only ProtocolError.
 */
export function peekFrameHeader(bytes: Uint8Array): FrameHeader {
  return finishHeader(openHeader(bytes));
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
