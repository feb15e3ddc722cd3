/**
 * The numeric device id of binary frame headers (bytes 8-11): FNV-1a, 32 bits, over the UTF-8 bytes of
 * the device id. A frame header has room for 4 bytes, not for the 1-64 character id of the topic tree, so
 * the sender writes this hash; receivers that know the device from the topic (`link/rx` of
 * `akb/v1/dev/{device}/`) may compare it. Two device ids can share a hash (one pair in 2^32): the topic,
 * not the hash, is the identity. Vectors: vectors/rules/numeric-device-id.json.
 */
import { AkbError } from './errors.js';
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

/**
 * Device ids every supported broker takes: 1-64 of `A-Z a-z 0-9 _ -`, the device-id pattern without ".".
 * NATS's MQTT interface makes each topic a NATS subject, where "." separates levels: nats-server 2.9
 * refuses a topic with a "." in it, and 2.10 and later turn it into "//", so `akb/v1/dev/cam.01/status`
 * is not a topic a NATS-hosted fleet can use as it is. The undotted ids are also safe as MQTT client ids
 * and in Mosquitto's `%u`/`%c` ACL patterns.
 */
export const PORTABLE_DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Why `id` is not a portable device id (PORTABLE_DEVICE_ID_PATTERN), or undefined when it is one. */
export function portableDeviceIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (id.length > 64) return `it has ${id.length} characters; at most 64`;
  if (id.includes('.')) return 'it has a "." (a NATS subject separator: nats-server 2.9 refuses such topics, 2.10 rewrites them)';
  const bad = [...id].find((c) => !/[A-Za-z0-9_-]/.test(c));
  if (bad !== undefined) return `it has ${JSON.stringify(bad)}; a device id is letters, digits, "_" and "-"`;
  return undefined;
}

/**
 * `id` when every supported broker (Mosquitto, aedes, NATS, EMQX, HiveMQ) takes it as a topic level and
 * client id; otherwise throws AkbError('BAD_DEVICE_ID', exit 2) saying why. Provisioning calls it, and
 * connectDevice, so an id that one broker would refuse is refused on every broker.
 */
export function assertPortableDeviceId(id: string): string {
  const problem = portableDeviceIdProblem(id);
  if (problem !== undefined) {
    throw new AkbError('BAD_DEVICE_ID', `device id ${JSON.stringify(id.slice(0, 80))} cannot be used: ${problem}`, {
      hint: 'use 1-64 letters, digits, "_" or "-", e.g. cam-01',
      exitCode: 2,
    });
  }
  return id;
}
