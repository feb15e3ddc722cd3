/**
 * The numeric device id of binary frame headers (bytes 8-11): FNV-1a, 32 bits, over the UTF-8 bytes of
 * the device id. A frame header has room for 4 bytes, not for the 1-64 character id of the topic tree, so
 * the sender writes this hash; receivers that know the device from the topic (`link/rx` of
 * `akb/v1/dev/{device}/`) may compare it. Two device ids can share a hash (one pair in 2^32): the topic,
 * not the hash, is the identity. Vectors: vectors/rules/numeric-device-id.json.
 */
import { assertDeviceId } from './topics.js';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a 32 of the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET_BASIS;
  for (const byte of utf8.encode(text)) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

/**
 * The u32 a frame header carries as the device id of `deviceId`. Throws ProtocolError('BAD_TOPIC') for a
 * string that is not a device id (1-64 of `A-Z a-z 0-9 . _ -`, not "." or "..").
 */
export function numericDeviceId(deviceId: string): number {
  return fnv1a32(assertDeviceId(deviceId));
}
