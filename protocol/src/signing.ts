/**
 * Signed messages (protocol 1.4; PROTOCOL.md, "Signed messages"): an `ota-offer`, a `kb-announce` or a
 * `kb-entry-response` may carry a `sig` member, an Ed25519 signature by the fleet key over
 *
 *     "akb-sig/1\n" + topic + "\n" + JCS(message with sig.value removed)
 *
 * as UTF-8 bytes, where `topic` is the MQTT topic the message is published on and JCS is the JSON
 * Canonicalization Scheme of RFC 8785 (keys sorted by UTF-16 code units, no whitespace, numbers and strings
 * as ECMAScript's JSON.stringify writes them). `sig` itself (alg, keyId, seq, expiresAt) is inside the signed
 * bytes; only its `value` is left out. A reader verifies over the JSON it received (parsed, not the value
 * with defaults applied), so a field a writer left to its default is not added back before hashing.
 * Replay protection is the reader's: it keeps the largest `seq` it accepted per stream and refuses one not
 * above it (`checkSeq`); `expiresAt` bounds how long a captured message stays usable.
 */
import { createHash, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { AkbError } from './errors.js';
import { validateMessage } from './messages.js';
import { MessageSig, SIG_MAX_SEQ } from './schemas/sig.js';
import type { MessageInput, MessageOf } from './schemas/index.js';

/** The first line of every signed byte string; a later scheme changes it. */
export const SIG_CONTEXT = 'akb-sig/1';
export { MessageSig, SIG_MAX_SEQ };

/** Kinds that may carry `sig`. */
export const SIGNED_KINDS = ['ota-offer', 'kb-announce', 'kb-entry-response'] as const;
export type SignedKind = (typeof SIGNED_KINDS)[number];

export type SignatureFailure = 'SIG_MISSING' | 'SIG_UNKNOWN_KEY' | 'SIG_BAD' | 'SIG_EXPIRED' | 'SIG_REPLAYED';

/** Why a signed message was refused; `reason` is a stable code. */
export class SignatureError extends AkbError {
  override readonly name: string = 'SignatureError';
  declare readonly code: SignatureFailure;
  constructor(code: SignatureFailure, message: string, hint?: string) {
    super(code, message, hint === undefined ? {} : { hint });
  }
}

/** A key a reader accepts signatures from (the bundle trust store's entries have this shape). */
export interface SigKey {
  keyId: string;
  key: KeyObject;
}

/** RFC 8785 (JCS) form of a JSON value: sorted keys, no whitespace, ECMAScript number and string forms. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AkbError('BAD_JSON', 'canonical JSON has no NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new AkbError('BAD_JSON', `canonical JSON has no ${typeof value}`);
}

/** The bytes a signature covers: the context line, the topic line, the JCS form without sig.value. */
export function signedBytes(topic: string, message: Record<string, unknown>): Buffer {
  const sig = message.sig;
  const body = sig !== null && typeof sig === 'object' && !Array.isArray(sig) ? { ...message, sig: { ...(sig as Record<string, unknown>), value: undefined } } : message;
  return Buffer.from(`${SIG_CONTEXT}\n${topic}\n${canonicalJson(body)}`, 'utf8');
}

/** SHA-256 hex of the raw 32-byte Ed25519 public key (of a private key's public half when given one). */
export function ed25519KeyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new AkbError('KEY_NOT_ED25519', `a ${pub.asymmetricKeyType ?? 'symmetric'} key is not Ed25519`);
  const { x } = pub.export({ format: 'jwk' });
  return createHash('sha256').update(Buffer.from(String(x), 'base64url')).digest('hex');
}

/**
 * Signs a message of `kind` for `topic` with the Ed25519 private `key`: validates it (defaults applied),
 * adds `sig` {alg, keyId, seq, expiresAt, value} and returns it validated, ready for encodeMessage.
 */
export function signMessage<K extends SignedKind>(
  kind: K,
  value: MessageInput<K>,
  topic: string,
  key: KeyObject,
  o: { seq: number; expiresAt: number },
): MessageOf<K> {
  const { sig: _drop, ...rest } = value as Record<string, unknown>;
  const body = validateMessage(kind, rest) as Record<string, unknown>;
  const sig = { alg: 'ed25519', keyId: ed25519KeyId(key), seq: o.seq, expiresAt: o.expiresAt };
  const unsigned = { ...body, sig };
  const signature = edSign(null, signedBytes(topic, unsigned), key).toString('base64');
  return validateMessage(kind, { ...unsigned, sig: { ...sig, value: signature } });
}

export interface VerifyOptions {
  /** The current time, ms since the epoch. */
  now: number;
  /** Accept a message without `sig` (returned with sig undefined). Default false. */
  allowUnsigned?: boolean;
}

/**
 * Checks `raw` (the JSON value as received, parsed, not defaulted) as a message of `kind` on `topic`:
 * its schema (ProtocolError SCHEMA_VIOLATION), then its signature against `keys`: SignatureError
 * SIG_MISSING (no sig and unsigned not allowed), SIG_UNKNOWN_KEY, SIG_BAD or SIG_EXPIRED. Returns the
 * validated message and its sig. The seq is not checked here: see checkSeq.
 */
export function verifySigned<K extends SignedKind>(kind: K, raw: unknown, topic: string, keys: readonly SigKey[], o: VerifyOptions): { message: MessageOf<K>; sig: MessageSig | undefined } {
  const message = validateMessage(kind, raw);
  const sig = (message as { sig?: MessageSig }).sig;
  if (sig === undefined) {
    if (o.allowUnsigned) return { message, sig: undefined };
    throw new SignatureError('SIG_MISSING', `${kind} on ${topic} is not signed`, 'sign it with the fleet key (akb deploy --fleet-key, akb-cloud --fleet-key)');
  }
  const key = keys.find((k) => k.keyId === sig.keyId);
  if (!key) throw new SignatureError('SIG_UNKNOWN_KEY', `${kind} on ${topic} is signed by key ${sig.keyId.slice(0, 16)}…, which is not trusted here`, "add the fleet key's .pub to the trust store");
  const ok = edVerify(null, signedBytes(topic, raw as Record<string, unknown>), key.key, Buffer.from(sig.value, 'base64'));
  if (!ok) throw new SignatureError('SIG_BAD', `${kind} on ${topic}: the signature does not match the message (forged or altered)`);
  if (o.now > sig.expiresAt) {
    throw new SignatureError('SIG_EXPIRED', `${kind} on ${topic} expired at ${new Date(sig.expiresAt).toISOString()} (now ${new Date(o.now).toISOString()})`, "check the device's clock");
  }
  return { message, sig };
}

/**
 * The replay rule: a seq above `floor` (the largest accepted so far on the stream, 0 for none) is new;
 * one equal to it is the accepted message again (a signer never signs two messages with one seq: a QoS 1
 * duplicate), returned as 'duplicate'; one below is refused with SignatureError SIG_REPLAYED.
 */
export function checkSeq(what: string, seq: number, floor: number): 'new' | 'duplicate' {
  if (seq > floor) return 'new';
  if (seq === floor) return 'duplicate';
  throw new SignatureError('SIG_REPLAYED', `${what}: seq ${seq} is below the last accepted ${floor} (a replayed message)`);
}

/** A signer's seq source: the clock in ms, made strictly increasing (a signer never reuses a seq). */
export function seqClock(now: () => number = Date.now): () => number {
  let last = 0;
  return () => (last = Math.min(SIG_MAX_SEQ, Math.max(last + 1, Math.floor(now()))));
}
