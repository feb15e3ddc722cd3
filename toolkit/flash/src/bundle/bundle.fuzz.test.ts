/**
 * Property: whatever a bundle's bytes become (cut short, bits flipped, bytes overwritten), readBundle
 * either accepts it (only when every signed hash still matches) or throws an AkbError: never another
 * error, never a hang. fast-check draws the damage; the seed is printed on failure. Also: tars of random
 * raw members (any name, type, size field, checksum and magic, sizes claimed up to 2^95) are refused with
 * an AkbError before a claimed size is allocated, and parseManifest takes any bytes. 2,600 cases per CI
 * run (test/fuzz/runs.ts scales them; each readBundle case costs a few milliseconds).
 */
import { isAkbError } from '@akb/protocol';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { arrayBufferBytes, fuzzRuns } from '../../../../test/fuzz/runs.js';
import { ed25519, gz, manifestFor, payloadEntries, rawTar, signedHead, type PayloadFile, type RawEntry } from '../../test/craft.js';
import { DEFAULT_BUNDLE_LIMITS } from './limits.js';
import { parseManifest } from './manifest.js';
import { readBundle } from './read.js';

const { key, trusted } = ed25519();
const FILES: PayloadFile[] = [
  { path: 'a.txt', content: Buffer.from('alpha') },
  { path: 'b/c.bin', content: Buffer.alloc(1500, 3) },
];
const WHOLE = gz(rawTar([...signedHead(manifestFor(FILES), key), ...payloadEntries(FILES)]));
const TAR = rawTar([...signedHead(manifestFor(FILES), key), ...payloadEntries(FILES)]);

const SMALL_LIMITS = { maxManifestBytes: 64 * 1024, maxMemberBytes: 1024 * 1024, maxTotalBytes: 4 * 1024 * 1024 };

async function outcome(bytes: Buffer, limits = {}): Promise<unknown> {
  return readBundle(Readable.from([bytes]), { trustedKeys: [trusted], limits }).then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('readBundle on damaged bytes', () => {
  it('throws only AkbErrors for truncations and bit flips of the compressed file', async () => {
    // thrown: the bundle cut at a random length, with up to 8 random bits flipped
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: WHOLE.length }),
        fc.array(fc.tuple(fc.nat({ max: WHOLE.length - 1 }), fc.integer({ min: 0, max: 7 })), { maxLength: 8 }),
        async (cut, flips) => {
          const bytes = Buffer.from(WHOLE.subarray(0, cut));
          for (const [at, bit] of flips) if (at < bytes.length) bytes[at] = (bytes[at] as number) ^ (1 << bit);
          const err = await outcome(bytes);
          if (cut < WHOLE.length) expect(err).toBeDefined();
          if (err !== undefined) expect(isAkbError(err), (err as Error).message).toBe(true);
        },
      ),
      fuzzRuns(300),
    );
  });

  it('throws only AkbErrors for bytes overwritten inside the tar (headers, manifest, payload), then gzipped', async () => {
    // thrown: the uncompressed tar with up to 4 random bytes replaced by random values, recompressed
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: TAR.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), async (edits) => {
        const tar = Buffer.from(TAR);
        for (const [at, value] of edits) tar[at] = value;
        const err = await outcome(gz(tar));
        if (err !== undefined) expect(isAkbError(err), (err as Error).message).toBe(true);
      }),
      fuzzRuns(300),
    );
  });

  it('throws only AkbErrors for tars of random raw members, allocating no claimed size', async () => {
    const name = fc.oneof(
      fc.constantFrom('akb-bundle', 'manifest.json', 'manifest.sig', 'payload/a.txt', 'payload/b/c.bin', '../x', '/etc/passwd', 'payload/../../x', 'payload/', '', 'a'.repeat(99)),
      fc.string({ maxLength: 20 }),
    );
    const sizeField = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('77777777777\0', '\x80\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff', '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff', '-1\0', 'zz', '1e9\0', '00000001000\0'),
      fc.bigInt({ min: 0n, max: 8n ** 11n - 1n }).map((n) => `${n.toString(8).padStart(11, '0')}\0`),
    );
    const entry: fc.Arbitrary<RawEntry> = fc.record(
      {
        name,
        content: fc.uint8Array({ maxLength: 600 }),
        type: fc.constantFrom('0', '0', '0', '\0', '1', '2', '5', 'L', 'x', 'g'),
        sizeField,
        badChecksum: fc.boolean(),
        magic: fc.constantFrom('ustar\u000000', 'ustar  \0', 'garbage!'),
      },
      { requiredKeys: ['name'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(entry, { maxLength: 5 }), fc.boolean(), async (withHead, entries, end) => {
        const tar = rawTar([...(withHead ? signedHead(manifestFor(FILES), key) : []), ...entries], end);
        const bytes = gz(tar);
        const before = arrayBufferBytes();
        const err = await outcome(bytes, SMALL_LIMITS);
        // At most the limits' small buffers (a manifest of 64 KiB) and the reader's chunks, never a claimed size.
        expect(arrayBufferBytes() - before).toBeLessThan(16 * 1024 * 1024);
        if (err !== undefined) expect(isAkbError(err), (err as Error).message).toBe(true);
      }),
      fuzzRuns(1_000),
    );
  });

  it('parseManifest returns a manifest or throws an AkbError for any bytes', () => {
    const valid = Buffer.from(JSON.stringify(manifestFor(FILES)));
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
        const b = Buffer.from(valid);
        for (const [at, v] of edits) b[at % b.length] = v;
        return b;
      }),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        try {
          const m = parseManifest(b, DEFAULT_BUNDLE_LIMITS);
          expect(parseManifest(Buffer.from(JSON.stringify(m)), DEFAULT_BUNDLE_LIMITS)).toEqual(m);
        } catch (e) {
          expect(isAkbError(e), String(e)).toBe(true);
        }
      }),
      fuzzRuns(1_000),
    );
  });
});
