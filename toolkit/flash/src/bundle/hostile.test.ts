/**
 * Hostile bundles, crafted byte by byte (raw ustar headers no honest writer makes): each is refused with
 * one AkbError of a distinct code, and refusals found before the payload reach no sink at all.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { isAkbError, type BundleManifest } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { ed25519, gz, manifestFor, payloadEntries, rawTar, signedHead, tempDir, type PayloadFile, type RawEntry } from '../../test/craft.js';
import { inflate } from './inflate.js';
import { DEFAULT_BUNDLE_LIMITS } from './limits.js';
import { readBundle, type BundleSink } from './read.js';

const { key, trusted } = ed25519('trusted.pub');
const FILES: PayloadFile[] = [
  { path: 'a.txt', content: Buffer.from('alpha') },
  { path: 'b/c.bin', content: Buffer.alloc(700, 7) },
];
const MANIFEST = manifestFor(FILES);

/** Reads `bytes` as a bundle file with a recording sink; returns the error and what reached the sink. */
async function attempt(bytes: Buffer, limits?: Parameters<typeof readBundle>[1]['limits']): Promise<{ err: unknown; sunk: string[] }> {
  const file = join(tempDir('hostile'), 'x.akb');
  writeFileSync(file, bytes);
  const sunk: string[] = [];
  const sink: BundleSink = {
    async file(entry, content) {
      sunk.push(entry.path);
      for await (const _ of content);
    },
  };
  const err = await readBundle(file, { trustedKeys: [trusted], sink, ...(limits ? { limits } : {}) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, sunk };
}

async function refused(bytes: Buffer, code: string, limits?: Parameters<typeof readBundle>[1]['limits']): Promise<string[]> {
  const { err, sunk } = await attempt(bytes, limits);
  expect(isAkbError(err), String(err)).toBe(true);
  expect((err as { code: string }).code, (err as Error).message).toBe(code);
  expect((err as Error).message).not.toContain('\n');
  return sunk;
}

const bundle = (entries: RawEntry[], end = true): Buffer => gz(rawTar(entries, end));
const honest = (): RawEntry[] => [...signedHead(MANIFEST, key), ...payloadEntries(FILES)];

describe('readBundle refuses hostile bundles', () => {
  it('accepts the honest crafted bundle (the baseline the cases below break)', async () => {
    const { err, sunk } = await attempt(bundle(honest()));
    expect(err).toBeUndefined();
    expect(sunk).toEqual(['a.txt', 'b/c.bin']);
  });

  it('a member whose bytes differ from its hash: BUNDLE_HASH_MISMATCH after the last chunk', async () => {
    // thrown: payload/a.txt holds "alphA" while the manifest hashes "alpha"
    const entries = honest();
    entries[3] = { name: 'payload/a.txt', content: Buffer.from('alphA') };
    expect(await refused(bundle(entries), 'BUNDLE_HASH_MISMATCH')).toEqual(['a.txt']);
  });

  it('a member of another size than the manifest says: BUNDLE_SIZE_MISMATCH before it is read', async () => {
    // thrown: payload/a.txt with 6 bytes, manifest says 5
    const entries = honest();
    entries[3] = { name: 'payload/a.txt', content: Buffer.from('alpha!') };
    expect(await refused(bundle(entries), 'BUNDLE_SIZE_MISMATCH')).toEqual([]);
  });

  it('the manifest edited after signing: BUNDLE_BAD_SIGNATURE, nothing sunk', async () => {
    // thrown: manifest.json's version changed from 1.0.0 to 9.0.0 after the signature was made
    const head = signedHead(MANIFEST, key);
    head[1] = { name: 'manifest.json', content: Buffer.from(JSON.stringify({ ...MANIFEST, version: '9.0.0' }, null, 2) + '\n') };
    expect(await refused(bundle([...head, ...payloadEntries(FILES)]), 'BUNDLE_BAD_SIGNATURE')).toEqual([]);
  });

  it('a signature by another key claiming the trusted key id: BUNDLE_BAD_SIGNATURE', async () => {
    // thrown: manifest.sig signed by an untrusted key, its keyId replaced by the trusted one's
    const other = ed25519();
    const head = signedHead(MANIFEST, other.key);
    const sig = JSON.parse((head[2]?.content as Buffer).toString()) as { keyId: string };
    head[2] = { name: 'manifest.sig', content: Buffer.from(JSON.stringify({ ...sig, keyId: trusted.keyId })) };
    await refused(bundle([...head, ...payloadEntries(FILES)]), 'BUNDLE_BAD_SIGNATURE');
  });

  it('a malformed manifest.sig: BUNDLE_BAD_SIGNATURE', async () => {
    // thrown: manifest.sig that is not JSON, and one with a 63-byte signature
    const head = signedHead(MANIFEST, key);
    await refused(bundle([head[0] as RawEntry, head[1] as RawEntry, { name: 'manifest.sig', content: Buffer.from('{') }]), 'BUNDLE_BAD_SIGNATURE');
    const short = { v: 1, algorithm: 'ed25519', keyId: trusted.keyId, signature: Buffer.alloc(63).toString('base64') };
    await refused(bundle([head[0] as RawEntry, head[1] as RawEntry, { name: 'manifest.sig', content: Buffer.from(JSON.stringify(short)) }]), 'BUNDLE_BAD_SIGNATURE');
  });

  it('a bundle signed by a key nobody trusts: BUNDLE_UNTRUSTED_KEY', async () => {
    // thrown: a correct signature by a freshly generated key that is not in the trusted list
    const other = ed25519();
    await refused(bundle([...signedHead(MANIFEST, other.key), ...payloadEntries(FILES)]), 'BUNDLE_UNTRUSTED_KEY');
  });

  const unsafePaths: [string, string][] = [
    ['payload/../evil', 'a ".." segment'],
    ['/etc/passwd', 'an absolute path'],
    ['payload/./a.txt', 'a "." segment'],
    ['payload//a.txt', 'an empty segment'],
    ['payload\\..\\evil', 'a backslash'],
  ];
  for (const [path, why] of unsafePaths) {
    it(`a member path with ${why}: BUNDLE_UNSAFE_MEMBER`, async () => {
      // thrown: a regular-file member named `path` in place of payload/a.txt
      const entries = honest();
      entries[3] = { name: path, content: Buffer.from('alpha') };
      expect(await refused(bundle(entries), 'BUNDLE_UNSAFE_MEMBER')).toEqual([]);
    });
  }

  const types: [string, string][] = [['1', 'hard link'], ['2', 'symbolic link'], ['3', 'character device'], ['4', 'block device'], ['5', 'directory'], ['6', 'FIFO'], ['x', 'pax header'], ['\0', 'old-style file']];
  for (const [type, what] of types) {
    it(`a ${what} member (type ${JSON.stringify(type)}): BUNDLE_UNSAFE_MEMBER`, async () => {
      // thrown: payload/a.txt as a tar entry of that type (links pointing at /etc/passwd)
      const entries = honest();
      entries[3] = { name: 'payload/a.txt', type, linkName: '/etc/passwd', content: type === '\0' ? Buffer.from('alpha') : Buffer.alloc(0) };
      expect(await refused(bundle(entries), 'BUNDLE_UNSAFE_MEMBER')).toEqual([]);
    });
  }

  it('a member not in the manifest, before or after the listed ones: BUNDLE_UNEXPECTED_MEMBER', async () => {
    // thrown: payload/zzz.sh added at the end; payload/0.sh added first
    await refused(bundle([...honest(), { name: 'payload/zzz.sh', content: Buffer.from('rm -rf /') }]), 'BUNDLE_UNEXPECTED_MEMBER');
    const entries = honest();
    entries.splice(3, 0, { name: 'payload/0.sh', content: Buffer.from('x') });
    expect(await refused(bundle(entries), 'BUNDLE_UNEXPECTED_MEMBER')).toEqual([]);
  });

  it('a missing member: BUNDLE_MISSING_MEMBER', async () => {
    // thrown: the archive ends (properly) after payload/a.txt; payload/b/c.bin is missing
    await refused(bundle(honest().slice(0, 4)), 'BUNDLE_MISSING_MEMBER');
  });

  it('members out of order, and a member twice: BUNDLE_UNEXPECTED_MEMBER', async () => {
    // thrown: payload/b/c.bin before payload/a.txt; then payload/a.txt twice
    const entries = honest();
    await refused(bundle([...entries.slice(0, 3), entries[4] as RawEntry, entries[3] as RawEntry]), 'BUNDLE_UNEXPECTED_MEMBER');
    await refused(bundle([...entries.slice(0, 4), entries[3] as RawEntry, entries[4] as RawEntry]), 'BUNDLE_UNEXPECTED_MEMBER');
  });

  it('head members missing or reordered: refused before any payload', async () => {
    // thrown: manifest.sig before manifest.json; no akb-bundle; akb-bundle saying format 2
    const [ver, man, sig] = signedHead(MANIFEST, key) as [RawEntry, RawEntry, RawEntry];
    await refused(bundle([ver, sig, man, ...payloadEntries(FILES)]), 'BUNDLE_UNEXPECTED_MEMBER');
    await refused(bundle([man, sig, ...payloadEntries(FILES)]), 'BUNDLE_UNEXPECTED_MEMBER');
    await refused(bundle([{ name: 'akb-bundle', content: Buffer.from('akb-bundle 2\n') }, man, sig]), 'BUNDLE_UNSUPPORTED_VERSION');
  });

  it('an oversized member (header says 2 GiB): BUNDLE_TOO_LARGE before a byte of it is read', async () => {
    // thrown: payload/a.txt whose header claims 2 GiB while 5 bytes follow
    const entries = honest();
    entries[3] = { name: 'payload/a.txt', size: 2 * 1024 ** 3, content: Buffer.from('alpha') };
    expect(await refused(bundle(entries, false), 'BUNDLE_TOO_LARGE')).toEqual([]);
  });

  it('an oversized manifest.json and a manifest listing a file over the member limit: BUNDLE_TOO_LARGE', async () => {
    // thrown: manifest.json header claiming 100 MiB; a signed manifest listing a 600 MiB file
    const [ver] = signedHead(MANIFEST, key) as [RawEntry];
    await refused(bundle([ver, { name: 'manifest.json', size: 100 * 1024 * 1024, content: Buffer.alloc(10) }], false), 'BUNDLE_TOO_LARGE');
    const huge: BundleManifest = { ...MANIFEST, files: [{ ...(MANIFEST.files[0] as BundleManifest['files'][0]), size: 600 * 1024 * 1024 }] };
    await refused(bundle(signedHead(huge, key)), 'BUNDLE_TOO_LARGE');
  });

  it('a signed manifest that breaks the rules: BUNDLE_BAD_MANIFEST', async () => {
    // thrown: files unsorted; a path with ".."; not JSON; a file that is also a folder (all signed by the trusted key)
    const unsorted = { ...MANIFEST, files: [...MANIFEST.files].reverse() };
    await refused(bundle(signedHead(unsorted, key)), 'BUNDLE_BAD_MANIFEST');
    const dotdot = { ...MANIFEST, files: [{ ...(MANIFEST.files[0] as BundleManifest['files'][0]), path: '../x' }] };
    await refused(bundle(signedHead(dotdot, key)), 'BUNDLE_BAD_MANIFEST');
    await refused(bundle(signedHead(Buffer.from('{not json'), key)), 'BUNDLE_BAD_MANIFEST');
    const folder = manifestFor([{ path: 'a', content: Buffer.from('1') }, { path: 'a/b', content: Buffer.from('2') }]);
    await refused(bundle(signedHead(folder, key)), 'BUNDLE_BAD_MANIFEST');
  });

  it('a gzip bomb: refused without unpacking it (BUNDLE_TOO_LARGE, or BUNDLE_CORRUPT after 64 KiB of padding)', async () => {
    // thrown: a signed manifest listing 64 MiB of zeros (about 64 KiB compressed) read with a 16 MiB total limit
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    const bomb: PayloadFile[] = [{ path: 'a.txt', content: zeros }];
    const limits = { maxTotalBytes: 16 * 1024 * 1024, maxMemberBytes: 128 * 1024 * 1024 };
    expect(await refused(bundle([...signedHead(manifestFor(bomb), key), ...payloadEntries(bomb)]), 'BUNDLE_TOO_LARGE', limits)).toEqual([]);
    // thrown: an honest archive followed by 64 MiB of zeros inside the gzip stream
    await refused(gz(Buffer.concat([rawTar(honest()), zeros])), 'BUNDLE_CORRUPT');
    // thrown: 64 MiB of zeros straight into the inflater with a 16 MiB limit (the backstop under every other check)
    const stream = inflate(Readable.from([gzipSync(zeros)]), { ...DEFAULT_BUNDLE_LIMITS, maxTotalBytes: 16 * 1024 * 1024 });
    const err = await (async () => {
      for await (const _ of stream);
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BUNDLE_TOO_LARGE' });
  });

  it('garbage, a plain text file, an empty file, and a gzip of garbage', async () => {
    // thrown: random-looking bytes; a README; zero bytes; gzip of text that is not a tar
    await refused(Buffer.from([0x13, 0x37, 0, 1, 2, 3]), 'BUNDLE_NOT_GZIP');
    await refused(Buffer.from('# just a readme\n'), 'BUNDLE_NOT_GZIP');
    await refused(Buffer.alloc(0), 'BUNDLE_TRUNCATED');
    await refused(gz(Buffer.alloc(2048, 0x41)), 'BUNDLE_CORRUPT');
  });

  it('a header checksum that does not match, a bad magic, a size field that is not octal: BUNDLE_CORRUPT', async () => {
    // thrown: payload/a.txt with checksum + 1; with magic "GNUtar  "; with size field "12x"
    for (const edit of [{ badChecksum: true }, { magic: 'GNUtar  ' }, { sizeField: '12x' }]) {
      const entries = honest();
      entries[3] = { name: 'payload/a.txt', content: Buffer.from('alpha'), ...edit };
      await refused(bundle(entries), 'BUNDLE_CORRUPT');
    }
  });

  it('data after the end of the archive: BUNDLE_CORRUPT', async () => {
    // thrown: a honest tar followed by "trailing" bytes inside the gzip stream
    await refused(gz(Buffer.concat([rawTar(honest()), Buffer.from('trailing')])), 'BUNDLE_CORRUPT');
  });

  it('a file over maxBundleBytes: refused from its size before reading', async () => {
    // thrown: a honest bundle read with a 100-byte bundle limit
    await refused(bundle(honest()), 'BUNDLE_TOO_LARGE', { maxBundleBytes: 100 });
  });

  it('a path that is not a file: BUNDLE_NOT_FOUND or BUNDLE_UNREADABLE', async () => {
    // thrown: a missing path; a folder
    await expect(readBundle('/nonexistent/x.akb', { trustedKeys: [trusted] })).rejects.toMatchObject({ code: 'BUNDLE_NOT_FOUND' });
    await expect(readBundle(tempDir('dir'), { trustedKeys: [trusted] })).rejects.toMatchObject({ code: 'BUNDLE_UNREADABLE' });
  });
});

describe('truncated bundles', () => {
  it('are refused at every cut point, never accepted, never hanging', async () => {
    // thrown: the honest bundle cut after 0..n-1 bytes (every 7th cut point, and the last 64 one by one)
    const whole = bundle(honest());
    const cuts = new Set<number>();
    for (let n = 0; n < whole.length; n += 7) cuts.add(n);
    for (let n = Math.max(0, whole.length - 64); n < whole.length; n++) cuts.add(n);
    for (const n of cuts) {
      const { err } = await attempt(whole.subarray(0, n));
      expect(isAkbError(err), `cut at ${n}: ${String(err)}`).toBe(true);
      expect(['BUNDLE_TRUNCATED', 'BUNDLE_NOT_GZIP', 'BUNDLE_CORRUPT'], `cut at ${n}`).toContain((err as { code: string }).code);
    }
  });
});
