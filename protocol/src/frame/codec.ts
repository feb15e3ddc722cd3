/**
 * One frame to bytes and back. The decoder is meant for hostile input: whatever it is given, it returns a
 * frame or throws a ProtocolError, and it checks in a fixed order (PROTOCOL.md) so every peer reports the
 * same code for the same bytes: first what is needed to find the CRC, then the CRC, then the fields.
 */
import { ProtocolError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { allocBytes } from './pool.js';
import {
  FRAME_CRC_LENGTH,
  FRAME_HEADER_LENGTH,
  FRAME_MAGIC_0,
  FRAME_MAGIC_1,
  FRAME_VERSION,
  MAX_PAYLOAD_BYTES,
  checkHeaderFields,
  checkHeaderInit,
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
  checkHeaderInit(header, payload.length);
  const headerLength = header.headerLength ?? FRAME_HEADER_LENGTH;
  const bodyLength = headerLength + payload.length;
  const out = allocBytes(bodyLength + FRAME_CRC_LENGTH);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  writeHeader(view, header, headerLength, payload.length);
  out.set(payload, headerLength);
  view.setUint32(bodyLength, crc32c(out.subarray(0, bodyLength)), true);
  return out;
}

/** Checks magic, version and minimum size, and returns a view on the header bytes. */
function openHeader(bytes: unknown): { bytes: Uint8Array; view: DataView } {
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
  return { bytes, view };
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
  const { view } = openHeader(bytes);
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
  const stored = view.getUint32(bodyLength, true);
  const actual = crc32c(bytes.subarray(0, bodyLength));
  if (stored !== actual) {
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
  return finishHeader(openHeader(bytes).view);
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
