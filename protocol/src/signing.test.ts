/**
 * The signing rule (signing.ts) against the golden vectors under protocol/vectors/signing/: every valid case
 * verifies and re-signs to the same bytes with the fixed seed; every invalid case is refused with its
 * reason; the seq rule table; and the canonical form (RFC 8785) on values where JSON.stringify differs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildSigningVectors, keyFromSeed } from '../scripts/generate-signing-vectors.js';
import { canonicalJson, checkSeq, ed25519KeyId, seqClock, signedBytes, signMessage, verifySigned, type SignedKind } from './signing.js';
import { createPublicKey } from 'node:crypto';

interface Case {
  name: string;
  kind: SignedKind;
  topic: string;
  message: Record<string, unknown> & { sig?: { seq: number; expiresAt: number; value: string } };
  now: number;
  signedBytes?: string;
  reason?: string;
}
interface Doc {
  fleetKey: { seed: string; publicKey: string; keyId: string };
  seqRule: { floor: number; seq: number; result: string }[];
  valid: Case[];
  invalid: Case[];
}

const file = fileURLToPath(new URL('../vectors/signing/signed-messages.json', import.meta.url));
const doc = JSON.parse(readFileSync(file, 'utf8')) as Doc;
const fleet = keyFromSeed(doc.fleetKey.seed);
const trusted = [{ keyId: ed25519KeyId(fleet), key: createPublicKey(fleet) }];

it('the vector file is what the generator writes (regenerate: npx tsx protocol/scripts/generate-signing-vectors.ts)', () => {
  expect(JSON.parse(JSON.stringify(buildSigningVectors()))).toEqual(doc);
  expect(ed25519KeyId(fleet)).toBe(doc.fleetKey.keyId);
});

describe('valid', () => {
  it.each(doc.valid)('$name: verifies, and signing again gives the same bytes', (v) => {
    expect(signedBytes(v.topic, v.message).toString('utf8')).toBe(v.signedBytes);
    const { sig } = verifySigned(v.kind, v.message, v.topic, trusted, { now: v.now });
    expect(sig?.value).toBe(v.message.sig!.value);
    const { sig: _s, ...body } = v.message;
    const again = signMessage(v.kind, body as never, v.topic, fleet, { seq: v.message.sig!.seq, expiresAt: v.message.sig!.expiresAt });
    expect((again as { sig: { value: string } }).sig.value).toBe(v.message.sig!.value);
  });
});

describe('invalid', () => {
  it.each(doc.invalid)('$name: $reason', (v) => {
    expect(() => verifySigned(v.kind, v.message, v.topic, trusted, { now: v.now })).toThrow(expect.objectContaining({ code: v.reason }) as Error);
  });
});

it('an unsigned message passes only when unsigned ones are allowed', () => {
  const { sig: _s, ...body } = doc.valid[1]!.message;
  expect(verifySigned('kb-announce', body, doc.valid[1]!.topic, trusted, { now: 0, allowUnsigned: true }).sig).toBeUndefined();
});

it.each(doc.seqRule)('seq $seq over floor $floor: $result', ({ floor, seq, result }) => {
  if (result === 'SIG_REPLAYED') expect(() => checkSeq('x', seq, floor)).toThrow(expect.objectContaining({ code: 'SIG_REPLAYED' }) as Error);
  else expect(checkSeq('x', seq, floor)).toBe(result);
});

it('canonical JSON sorts keys by UTF-16 code units and writes numbers as ECMAScript does', () => {
  expect(canonicalJson({ b: [1e21, 0.1, -0, 1e-7], a: { '\u00e9': 'é', Z: '\n"' }, '\ud83d\ude00': null, '\ufb01': true })).toBe(
    '{"a":{"Z":"\\n\\"","é":"é"},"b":[1e+21,0.1,0,1e-7],"😀":null,"ﬁ":true}',
  );
  expect(() => canonicalJson({ a: Number.NaN })).toThrow();
});

it('a seq clock never repeats or goes back, even when the clock does', () => {
  const times = [5, 5, 3, 10];
  const next = seqClock(() => times.shift()!);
  expect([next(), next(), next(), next()]).toEqual([5, 6, 7, 10]);
});
