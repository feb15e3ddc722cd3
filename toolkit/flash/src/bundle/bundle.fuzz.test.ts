/**
 * Property: whatever a bundle's bytes become (cut short, bits flipped, bytes overwritten), readBundle
 * either accepts it (only when every signed hash still matches) or throws an AkbError: never another
 * error, never a hang. fast-check draws the damage; the seed is printed on failure.
 */
import { isAkbError } from '@akb/protocol';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fuzzRuns } from '../../../../test/fuzz/runs.js';
import { ed25519, gz, manifestFor, payloadEntries, rawTar, signedHead, type PayloadFile } from '../../test/craft.js';
import { readBundle } from './read.js';

const { key, trusted } = ed25519();
const FILES: PayloadFile[] = [
  { path: 'a.txt', content: Buffer.from('alpha') },
  { path: 'b/c.bin', content: Buffer.alloc(1500, 3) },
];
const WHOLE = gz(rawTar([...signedHead(manifestFor(FILES), key), ...payloadEntries(FILES)]));
const TAR = rawTar([...signedHead(manifestFor(FILES), key), ...payloadEntries(FILES)]);

async function outcome(bytes: Buffer): Promise<unknown> {
  return readBundle(Readable.from([bytes]), { trustedKeys: [trusted] }).then(
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
});
