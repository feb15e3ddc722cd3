/**
 * Over-the-air bundle transfer on `akb/v1/dev/{device}/ota/{offer|get|block|result}`, after AWS IoT
 * streams: the sender offers a bundle; the device asks for blocks (a window of block indices, optionally
 * with a bitmap of the ones it still misses, so a transfer resumes after a drop); the sender answers each
 * asked block; the device installs into its inactive slot and publishes the result.
 */
import { z } from 'zod';
import { Base64, base64ByteLength, EpochMillis, NonNegativeInt, PositiveInt, ProfileId, SemVer, Sha256Hex, Slug, Text } from './common.js';
import { MessageSig } from './sig.js';

/** Smallest and largest block sizes (bytes); both powers of two. */
export const OTA_MIN_BLOCK = 1024;
export const OTA_MAX_BLOCK = 128 * 1024;
/** Most blocks one `get` may ask for. */
export const OTA_MAX_WINDOW = 256;
/** Largest bundle v1 transfers: 4 GiB - 1. */
export const OTA_MAX_SIZE = 2 ** 32 - 1;

export const TransferId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'transfer id: 1-64 of [A-Za-z0-9._:-]')
  .describe('Id of one transfer, chosen by the sender; every OTA message of the transfer repeats it.');

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** Number of blocks of a `size`-byte bundle cut into `blockSize`-byte blocks (the last one may be short). */
export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

export const OtaOffer = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    transfer: TransferId,
    ts: EpochMillis.describe('When the offer was made.'),
    bundle: z
      .strictObject({
        name: Slug.describe('Artifact name, as in the bundle manifest.'),
        version: SemVer.describe('Artifact version, as in the bundle manifest.'),
        targetProfiles: z.array(ProfileId).min(1).max(64).describe('Profiles the bundle is built for; a device of another profile refuses it.'),
      })
      .describe('What is offered.'),
    size: PositiveInt.max(OTA_MAX_SIZE).describe('Size of the bundle file, bytes.'),
    sha256: Sha256Hex.describe('SHA-256 of the whole bundle file.'),
    blockSize: PositiveInt.min(OTA_MIN_BLOCK)
      .max(OTA_MAX_BLOCK)
      .refine(isPowerOfTwo, 'block size must be a power of two')
      .describe('Block size, bytes: a power of two from 1 KiB to 128 KiB. Block i covers bytes [i*blockSize, (i+1)*blockSize).'),
    signature: z
      .strictObject({
        algorithm: z.literal('ed25519').describe('Signature algorithm of the manifest signature inside the bundle.'),
        keyId: Sha256Hex.describe('SHA-256 of the raw 32-byte public key that signed the manifest; the device must trust it.'),
      })
      .describe('Who signed the bundle; the signature itself travels inside the bundle and is checked before install.'),
    force: z.boolean().default(false).describe('Install even when the version is older than the running one.'),
    expires: EpochMillis.optional().describe('After this time the sender no longer answers block requests.'),
    sig: MessageSig.optional(),
  })
  .meta({ title: 'OTA offer', description: 'Sender to device, on akb/v1/dev/{device}/ota/offer.' });
export type OtaOffer = z.infer<typeof OtaOffer>;

export const OtaGet = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    transfer: TransferId,
    index: NonNegativeInt.describe('First block of the window (byte offset index*blockSize).'),
    count: PositiveInt.max(OTA_MAX_WINDOW).describe(`Blocks in the window, 1 to ${OTA_MAX_WINDOW}.`),
    bitmap: Base64.max(4 * Math.ceil(OTA_MAX_WINDOW / 8 / 3))
      .optional()
      .describe(
        'Blocks of the window still wanted: bit i (byte i>>3, bit i&7, least significant first) set asks for block index+i; exactly ceil(count/8) bytes once decoded. Absent: every block of the window.',
      ),
  })
  .refine((g) => g.bitmap === undefined || base64ByteLength(g.bitmap) === Math.ceil(g.count / 8), {
    message: 'bitmap must decode to ceil(count/8) bytes',
    path: ['bitmap'],
  })
  .meta({ title: 'OTA block request', description: 'Device to sender, on akb/v1/dev/{device}/ota/get.' });
export type OtaGet = z.infer<typeof OtaGet>;

export const OtaBlock = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    transfer: TransferId,
    index: NonNegativeInt.describe('Block index.'),
    data: Base64.min(1)
      .max(4 * Math.ceil(OTA_MAX_BLOCK / 3))
      .describe('The block bytes, base64: blockSize bytes, fewer for the last block.'),
  })
  .meta({ title: 'OTA block', description: 'Sender to device, on akb/v1/dev/{device}/ota/block, one per asked block.' });
export type OtaBlock = z.infer<typeof OtaBlock>;

export const OTA_FAILURES = [
  'INCOMPATIBLE_PROFILE',
  'DOWNGRADE_REFUSED',
  'NO_SPACE',
  'TRANSFER_TIMEOUT',
  'HASH_MISMATCH',
  'BAD_SIGNATURE',
  'UNTRUSTED_KEY',
  'BAD_BUNDLE',
  'INSTALL_FAILED',
  'HEALTH_CHECK_FAILED',
] as const;

const resultBase = {
  v: z.literal(1).describe('Message format version.'),
  transfer: TransferId,
  ts: EpochMillis.describe('When the result was reached.'),
  version: SemVer.describe('Artifact version the result is about.'),
};

export const OtaResult = z
  .discriminatedUnion('status', [
    z.strictObject({
      ...resultBase,
      status: z.literal('ok').describe('Installed, switched and healthy.'),
      slot: z.enum(['A', 'B']).describe('Slot now running.'),
    }),
    z.strictObject({
      ...resultBase,
      status: z.literal('failed').describe('Not installed, or installed and rolled back.'),
      reason: z.enum(OTA_FAILURES).describe('Why it failed.'),
      message: Text.describe('What happened, for people.'),
      slot: z.enum(['A', 'B']).describe('Slot now running (the previous one after a rollback).'),
      rolledBack: z.boolean().describe('True when the new slot was tried and the device switched back.'),
    }),
  ])
  .meta({ title: 'OTA result', description: 'Device to sender, on akb/v1/dev/{device}/ota/result, once per transfer.' });
export type OtaResult = z.infer<typeof OtaResult>;
