/**
 * Writes protocol/vectors/signing/signed-messages.json: messages signed by a fixed Ed25519 key (its 32-byte
 * seed is in the file; Ed25519 signatures are deterministic, so a peer reproduces every byte), with the
 * exact bytes each signature covers, and messages a reader must refuse with the reason given.
 *
 *   npx tsx protocol/scripts/generate-signing-vectors.ts
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ed25519KeyId, signedBytes, signMessage } from '../src/signing.js';
import { topics } from '../src/topics.js';
import type { KbAnnounce, OtaOffer } from '../src/schemas/index.js';

const PKCS8_ED25519_PREFIX = '302e020100300506032b657004220420';
export const keyFromSeed = (seedHex: string) => createPrivateKey({ key: Buffer.from(PKCS8_ED25519_PREFIX + seedHex, 'hex'), format: 'der', type: 'pkcs8' });
const rawPublic = (seedHex: string): string => Buffer.from(String(createPublicKey(keyFromSeed(seedHex)).export({ format: 'jwk' }).x), 'base64url').toString('hex');

const FLEET_SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const OTHER_SEED = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const offer: OtaOffer = {
  v: 1, transfer: 'deploy-20260101T0000', ts: NOW, bundle: { name: 'akb-edge-rpi', version: '0.2.0', targetProfiles: ['rpi-5'] },
  size: 5242880, sha256: '1e6ed65d77d6364eeaed5a745ba5c4985ae2b700dd85d7cf7f027bdf294a33fc', blockSize: 65536,
  signature: { algorithm: 'ed25519', keyId: 'b84b25628f800e36925811aa24aaf28c9f827333d2df990762b5c3a86eff7c9b' }, force: false,
};
const announce: KbAnnounce = { v: 1, kbVersion: 1949760272, entries: 2, dims: 2, sha256: 'dd8978f69af566c5eb88a775f94f2c76fa049b3c70efbf881955452924c58690', created: '2026-01-01T00:00:00Z', ts: NOW, model: 'clip-vit-b32' };
const f32 = (xs: number[]): string => Buffer.from(new Float32Array(xs).buffer).toString('base64');
const page = { kbVersion: 1949760272, offset: 0, total: 2, dims: 2, entries: [{ index: 0, embedding: f32([0.5, -0.25]), prior: 0.75, label: 'sky "é"' }, { index: 1, embedding: f32([1, 2]), prior: 0.25 }] };

export function buildSigningVectors(): unknown {
  const fleet = keyFromSeed(FLEET_SEED);
  const other = keyFromSeed(OTHER_SEED);
  const when = { expiresAt: NOW + 600_000 };
  const offerTopic = topics.ota('cam-01', 'offer');
  const kbTopic = topics.kbAnnounce();
  const resTopic = topics.kb('cam-01', 'res');
  const signedOffer = signMessage('ota-offer', offer, offerTopic, fleet, { seq: NOW, ...when });
  const signedAnnounce = signMessage('kb-announce', announce, kbTopic, fleet, { seq: NOW + 1, ...when });
  const signedPage = signMessage('kb-entry-response', page, resTopic, fleet, { seq: NOW + 2, ...when });
  const valid = [
    { name: 'ota-offer', kind: 'ota-offer', topic: offerTopic, message: signedOffer },
    { name: 'kb-announce', kind: 'kb-announce', topic: kbTopic, message: signedAnnounce },
    { name: 'kb-entry-response (the data of a response envelope on kb/res)', kind: 'kb-entry-response', topic: resTopic, message: signedPage },
  ].map((v) => ({ ...v, signedBytes: signedBytes(v.topic, v.message as unknown as Record<string, unknown>).toString('utf8'), now: NOW }));
  const tampered = structuredClone(signedOffer) as Record<string, unknown> & { size: number };
  tampered.size = 5242881;
  const reseq = structuredClone(signedOffer) as unknown as { sig: { seq: number } };
  reseq.sig.seq += 1;
  const invalid = [
    { name: 'a field changed after signing', kind: 'ota-offer', topic: offerTopic, message: tampered, now: NOW, reason: 'SIG_BAD' },
    { name: 'the seq changed after signing', kind: 'ota-offer', topic: offerTopic, message: reseq, now: NOW, reason: 'SIG_BAD' },
    { name: "another device's topic", kind: 'ota-offer', topic: topics.ota('cam-02', 'offer'), message: signedOffer, now: NOW, reason: 'SIG_BAD' },
    { name: 'signed by a key the reader does not trust', kind: 'ota-offer', topic: offerTopic, message: signMessage('ota-offer', offer, offerTopic, other, { seq: NOW, ...when }), now: NOW, reason: 'SIG_UNKNOWN_KEY' },
    { name: 'read after expiresAt', kind: 'kb-announce', topic: kbTopic, message: signedAnnounce, now: NOW + 600_001, reason: 'SIG_EXPIRED' },
    { name: 'no sig where a signature is required', kind: 'kb-announce', topic: kbTopic, message: announce, now: NOW, reason: 'SIG_MISSING' },
  ];
  return {
    description:
      'Signed messages (protocol 1.4, PROTOCOL.md "Signed messages"). The signature is Ed25519 (RFC 8032) by the key whose 32-byte seed is fleetKey.seed, over the UTF-8 bytes of "akb-sig/1\\n" + topic + "\\n" + the RFC 8785 (JCS) form of the message without sig.value; signedBytes is that string. A reader that trusts only fleetKey accepts every valid case at its now (and, signing with the seed, writes the same sig.value) and refuses every invalid case with its reason. Replay (SIG_REPLAYED) depends on what the reader accepted before: see seqRule.',
    fleetKey: { seed: FLEET_SEED, publicKey: rawPublic(FLEET_SEED), keyId: ed25519KeyId(fleet) },
    otherKey: { seed: OTHER_SEED, publicKey: rawPublic(OTHER_SEED), keyId: ed25519KeyId(other) },
    seqRule: [
      { floor: 0, seq: 1, result: 'new' },
      { floor: NOW, seq: NOW + 1, result: 'new' },
      { floor: NOW, seq: NOW, result: 'duplicate' },
      { floor: NOW, seq: NOW - 1, result: 'SIG_REPLAYED' },
    ],
    valid,
    invalid,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = new URL('../vectors/signing/signed-messages.json', import.meta.url);
  writeFileSync(out, `${JSON.stringify(buildSigningVectors(), null, 2)}\n`);
  process.stdout.write(`wrote ${out.pathname}\n`);
}
