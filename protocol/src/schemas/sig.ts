/** The `sig` member of a signed message (protocol 1.4); the rule is in ../signing.ts and PROTOCOL.md. */
import { z } from 'zod';
import { Base64, base64ByteLength, EpochMillis, Sha256Hex } from './common.js';

/** Largest `seq`: 2^53 - 1, so it is exact in every JSON reader that uses doubles. */
export const SIG_MAX_SEQ = Number.MAX_SAFE_INTEGER;

export const MessageSig = z
  .strictObject({
    alg: z.literal('ed25519').describe('Signature algorithm.'),
    keyId: Sha256Hex.describe('SHA-256 of the raw 32-byte Ed25519 public key of the signer (the fleet key), as bundles name theirs.'),
    seq: z.number().int().min(1).max(SIG_MAX_SEQ).describe("Signer's sequence number: a reader accepts only one above the last it accepted on the stream (PROTOCOL.md, \"Signed messages\")."),
    expiresAt: EpochMillis.describe('The reader refuses the message after this time.'),
    value: Base64.refine((t) => base64ByteLength(t) === 64, 'an Ed25519 signature is 64 bytes').describe(
      'The signature, base64 (64 bytes), over "akb-sig/1\\n" + topic + "\\n" + the JCS form of the message without sig.value.',
    ),
  })
  .describe('Signature by the fleet key (protocol 1.4). Absent: unsigned, which a reader refuses unless configured to accept it.');
export type MessageSig = z.infer<typeof MessageSig>;
