/**
 * The compact link profile: a v1 frame (or any byte string) split into link packets of at most `mtu`
 * bytes, for links whose packets are smaller than a v1 frame's 60 bytes of header and CRC (an E32 packet is
 * 58 bytes). Each packet: a 5-byte header (7 in the wide form), a slice of the frame, a CRC-16. Layout and
 * rules: PROTOCOL.md, "Link profile: compact segmentation".
 */
import { ProtocolError } from '../errors.js';
import { crc16CcittFalse } from './crc16.js';

/** The profile version, in the high nibble of byte 0. */
export const LINK_SEGMENT_VERSION = 1;
/** Flag bit 0 of byte 0: index and last index are u16 (the wide form) rather than u8. */
export const LINK_SEGMENT_FLAG_WIDE = 0x01;
/** Flag bits 1-3: reserved; a receiver refuses a packet with any of them set (`BAD_HEADER`). */
export const LINK_SEGMENT_RESERVED_FLAGS = 0x0e;
/** Header bytes of the short form (u8 index and last index) and of the wide form (u16). */
export const LINK_SEGMENT_HEADER_SHORT = 5;
export const LINK_SEGMENT_HEADER_WIDE = 7;
/** The CRC-16 trailer. */
export const LINK_SEGMENT_CRC_LENGTH = 2;
/** Smallest and largest MTU a sender accepts; the largest is also the largest packet a receiver takes. */
export const LINK_SEGMENT_MIN_MTU = 16;
export const LINK_SEGMENT_MAX_MTU = 4095;
/** Segments of one frame: at most 256 in the short form, 65536 in the wide form. */
export const LINK_SEGMENT_MAX_SHORT = 256;
export const LINK_SEGMENT_MAX_SEGMENTS = 65536;
/** Frame sequence numbers are u16 and wrap. */
export const LINK_SEGMENT_MAX_SEQ = 0xffff;

/** One decoded link packet. */
export interface LinkSegment {
  /** The frame sequence number (u16) shared by every segment of one frame. */
  readonly seq: number;
  /** This segment's index, 0 to `lastIndex`. */
  readonly index: number;
  /** The index of the frame's last segment: the frame has `lastIndex + 1` segments. */
  readonly lastIndex: number;
  /** Whether the packet used the wide (u16) form. */
  readonly wide: boolean;
  /** This segment's bytes of the frame (a view into the packet). */
  readonly payload: Uint8Array;
}

/** How a frame of `frameBytes` bytes is split at an MTU. */
export interface SegmentPlan {
  readonly wide: boolean;
  /** Frame bytes in every segment but the last (the last holds the rest, at least 1 unless the frame is empty). */
  readonly bytesPerSegment: number;
  readonly segments: number;
  /** Bytes on the link for the whole frame: frame bytes plus every packet's header and CRC. */
  readonly wireBytes: number;
}

/**
 * The split `segmentFrame` uses: the short form when at most 256 segments of `mtu - 7` bytes carry the
 * frame, else the wide form with segments of `mtu - 9` bytes. Throws ProtocolError: `BAD_LENGTH` for an
 * MTU that is not an integer from 16 to 4095; `TOO_LARGE` when more than 65536 segments would be needed.
 */
export function planSegments(frameBytes: number, mtu: number): SegmentPlan {
  if (!Number.isInteger(mtu) || mtu < LINK_SEGMENT_MIN_MTU || mtu > LINK_SEGMENT_MAX_MTU) {
    throw new ProtocolError('BAD_LENGTH', `a link MTU must be an integer from ${LINK_SEGMENT_MIN_MTU} to ${LINK_SEGMENT_MAX_MTU} bytes, not ${String(mtu)}`, {
      hint: `the compact link profile needs at least ${LINK_SEGMENT_MIN_MTU} bytes per packet`,
    });
  }
  if (!Number.isSafeInteger(frameBytes) || frameBytes < 0) {
    throw new ProtocolError('BAD_LENGTH', `a frame length must be a non-negative integer, not ${String(frameBytes)}`);
  }
  for (const wide of [false, true]) {
    const per = mtu - (wide ? LINK_SEGMENT_HEADER_WIDE : LINK_SEGMENT_HEADER_SHORT) - LINK_SEGMENT_CRC_LENGTH;
    const segments = Math.max(1, Math.ceil(frameBytes / per));
    if (segments <= (wide ? LINK_SEGMENT_MAX_SEGMENTS : LINK_SEGMENT_MAX_SHORT)) {
      return { wide, bytesPerSegment: per, segments, wireBytes: frameBytes + segments * (mtu - per) };
    }
  }
  throw new ProtocolError('TOO_LARGE', `a frame of ${frameBytes} bytes needs more than ${LINK_SEGMENT_MAX_SEGMENTS} segments at an MTU of ${mtu} bytes`, {
    hint: 'use a larger MTU or send fewer symbols per frame',
  });
}

/** Encodes one link packet. Throws ProtocolError (`BAD_HEADER`, `BAD_FRAGMENT`, `TOO_LARGE`) on fields out of range. */
export function encodeSegment(segment: Omit<LinkSegment, 'wide'> & { readonly wide?: boolean }): Uint8Array {
  const { seq, index, lastIndex, payload } = segment;
  const wide = segment.wide ?? lastIndex >= LINK_SEGMENT_MAX_SHORT;
  const maxIndex = (wide ? LINK_SEGMENT_MAX_SEGMENTS : LINK_SEGMENT_MAX_SHORT) - 1;
  if (!Number.isInteger(seq) || seq < 0 || seq > LINK_SEGMENT_MAX_SEQ) {
    throw new ProtocolError('BAD_HEADER', `a link frame sequence number must be an integer from 0 to ${LINK_SEGMENT_MAX_SEQ}, not ${String(seq)}`);
  }
  if (!Number.isInteger(lastIndex) || lastIndex < 0 || lastIndex > maxIndex || !Number.isInteger(index) || index < 0 || index > lastIndex) {
    throw new ProtocolError('BAD_FRAGMENT', `segment ${String(index)} of last index ${String(lastIndex)} is out of range for the ${wide ? 'wide' : 'short'} form`);
  }
  const header = wide ? LINK_SEGMENT_HEADER_WIDE : LINK_SEGMENT_HEADER_SHORT;
  const length = header + payload.length + LINK_SEGMENT_CRC_LENGTH;
  if (length > LINK_SEGMENT_MAX_MTU) throw new ProtocolError('TOO_LARGE', `a link packet of ${length} bytes exceeds ${LINK_SEGMENT_MAX_MTU}`);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  out[0] = (LINK_SEGMENT_VERSION << 4) | (wide ? LINK_SEGMENT_FLAG_WIDE : 0);
  view.setUint16(1, seq, true);
  if (wide) {
    view.setUint16(3, index, true);
    view.setUint16(5, lastIndex, true);
  } else {
    out[3] = index;
    out[4] = lastIndex;
  }
  out.set(payload, header);
  view.setUint16(length - 2, crc16CcittFalse(out.subarray(0, length - 2)), false);
  return out;
}

/**
 * Splits `frame` into link packets of at most `o.mtu` bytes, all carrying sequence number `o.seq`
 * (0-65535; the sender counts it up by one per frame, modulo 65536). Throws ProtocolError: `BAD_LENGTH`
 * (not bytes, or an MTU outside 16-4095), `BAD_HEADER` (a bad seq), `TOO_LARGE` (over 65536 segments).
 */
export function segmentFrame(frame: Uint8Array, o: { mtu: number; seq: number }): Uint8Array[] {
  if (!(frame instanceof Uint8Array)) throw new ProtocolError('BAD_LENGTH', 'segmentFrame needs the frame as a Uint8Array');
  const plan = planSegments(frame.length, o.mtu);
  const packets: Uint8Array[] = [];
  for (let i = 0; i < plan.segments; i++) {
    const payload = frame.subarray(i * plan.bytesPerSegment, Math.min(frame.length, (i + 1) * plan.bytesPerSegment));
    packets.push(encodeSegment({ seq: o.seq, index: i, lastIndex: plan.segments - 1, wide: plan.wide, payload }));
  }
  return packets;
}

/**
 * Decodes one link packet, checking in the order PROTOCOL.md gives. Throws ProtocolError and nothing
 * else, whatever it is given: `BAD_LENGTH`, `TRUNCATED`, `TOO_LARGE`, `CRC_MISMATCH`,
 * `UNSUPPORTED_VERSION`, `BAD_HEADER`, `BAD_FRAGMENT`.
 */
export function decodeSegment(packet: Uint8Array): LinkSegment {
  if (!(packet instanceof Uint8Array)) throw new ProtocolError('BAD_LENGTH', 'a link packet must be a byte buffer');
  const n = packet.length;
  if (n < LINK_SEGMENT_HEADER_SHORT + LINK_SEGMENT_CRC_LENGTH) {
    throw new ProtocolError('TRUNCATED', `a link packet of ${n} bytes is shorter than the ${LINK_SEGMENT_HEADER_SHORT + LINK_SEGMENT_CRC_LENGTH}-byte minimum`);
  }
  if (n > LINK_SEGMENT_MAX_MTU) throw new ProtocolError('TOO_LARGE', `a link packet of ${n} bytes exceeds ${LINK_SEGMENT_MAX_MTU}`);
  const view = new DataView(packet.buffer, packet.byteOffset, n);
  const crc = view.getUint16(n - 2, false);
  if (crc16CcittFalse(packet.subarray(0, n - 2)) !== crc) throw new ProtocolError('CRC_MISMATCH', 'a link packet failed its CRC-16');
  const b0 = packet[0]!;
  if (b0 >> 4 !== LINK_SEGMENT_VERSION) throw new ProtocolError('UNSUPPORTED_VERSION', `link profile version ${b0 >> 4} is not supported (this peer speaks ${LINK_SEGMENT_VERSION})`);
  if ((b0 & LINK_SEGMENT_RESERVED_FLAGS) !== 0) throw new ProtocolError('BAD_HEADER', `reserved link packet flags set (0x${(b0 & 0x0f).toString(16)})`);
  const wide = (b0 & LINK_SEGMENT_FLAG_WIDE) !== 0;
  const header = wide ? LINK_SEGMENT_HEADER_WIDE : LINK_SEGMENT_HEADER_SHORT;
  if (n < header + LINK_SEGMENT_CRC_LENGTH) throw new ProtocolError('TRUNCATED', `a wide link packet of ${n} bytes is shorter than ${header + LINK_SEGMENT_CRC_LENGTH}`);
  const seq = view.getUint16(1, true);
  const index = wide ? view.getUint16(3, true) : packet[3]!;
  const lastIndex = wide ? view.getUint16(5, true) : packet[4]!;
  if (index > lastIndex) throw new ProtocolError('BAD_FRAGMENT', `segment index ${index} is past the last index ${lastIndex}`);
  const payload = packet.subarray(header, n - LINK_SEGMENT_CRC_LENGTH);
  if (payload.length === 0 && lastIndex > 0) throw new ProtocolError('BAD_LENGTH', 'an empty segment in a frame of more than one segment');
  return { seq, index, lastIndex, wide, payload };
}
