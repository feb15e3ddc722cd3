/**
 * Writing and reading honest bundles: the round trip through a sink, reproducibility, verify-only and
 * header-only reads, onHeader stopping a read, and the writer refusing bad input.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isAkbError } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { ed25519, tempDir } from '../../test/craft.js';
import { bundleCreatedTime } from './created.js';
import { readBundle, type BundleSink } from './read.js';
import { writeBundle, type WriteBundleOptions } from './write.js';

const CREATED = new Date('2025-03-01T12:00:00.750Z');

function options(key: WriteBundleOptions['key'], dir: string): WriteBundleOptions {
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  writeFileSync(join(dir, 'node'), big);
  return {
    name: 'akb-edge-rpi-5',
    version: '1.2.0',
    targetProfiles: ['rpi-5'],
    created: CREATED,
    runtime: { arch: 'arm64', node: '>=20.19' },
    key,
    files: [
      { path: 'profile.json', role: 'config', source: { bytes: Buffer.from('{"id":"rpi-5"}\n') } },
      { path: 'node/bin/node', role: 'runtime', mode: 0o755, source: { file: join(dir, 'node') } },
      { path: 'models/zoo/enc/model.onnx', role: 'model', source: { bytes: Buffer.from('onnx bytes') } },
      { path: 'empty', role: 'other', source: { bytes: new Uint8Array() } },
      // a path over 100 bytes: stored with a ustar prefix
      { path: `app/${'d'.repeat(90)}/${'f'.repeat(60)}.js`, role: 'other', source: { bytes: Buffer.from('x') } },
    ],
  };
}

/** A sink that keeps each file's bytes (small files only: tests). */
function memorySink(): { sink: BundleSink; files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  return {
    files,
    sink: {
      async file(entry, content) {
        const parts: Uint8Array[] = [];
        for await (const c of content) parts.push(Buffer.from(c));
        files.set(entry.path, Buffer.concat(parts));
      },
    },
  };
}

describe('bundle round trip', () => {
  it('writes a signed bundle and reads every file back through a sink, in byte order, with modes in the manifest', async () => {
    const dir = tempDir('rt');
    const { key, trusted } = ed25519();
    const opts = options(key, dir);
    const out = join(dir, 'b.akb');
    const written = await writeBundle(out, opts);
    expect(written.size).toBe(readFileSync(out).length);
    expect(written.manifest.created).toBe('2025-03-01T12:00:00Z');
    const { sink, files } = memorySink();
    const header = await readBundle(out, { trustedKeys: [trusted], sink });
    expect(header.signature).toBe('verified');
    expect(header.signer?.keyId).toBe(trusted.keyId);
    expect(header.manifest).toEqual(written.manifest);
    expect([...files.keys()]).toEqual(written.manifest.files.map((f) => f.path));
    expect([...files.keys()]).toEqual([...files.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(files.get('node/bin/node')).toEqual(readFileSync(join(dir, 'node')));
    expect(files.get('empty')?.length).toBe(0);
    expect(header.manifest.files.find((f) => f.path === 'node/bin/node')?.mode).toBe(0o755);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('is reproducible: the same inputs and created give identical bytes, whether a file comes as bytes or from disk', async () => {
    const dir = tempDir('repro');
    const { key } = ed25519();
    const a = await writeBundle(join(dir, 'a.akb'), options(key, dir));
    const opts = options(key, dir);
    opts.files = opts.files.reverse().map((f) => ('file' in f.source ? { ...f, source: { bytes: readFileSync(f.source.file) } } : f));
    const b = await writeBundle(join(dir, 'b.akb'), opts);
    expect(b.sha256).toBe(a.sha256);
    expect(readFileSync(join(dir, 'b.akb')).equals(readFileSync(join(dir, 'a.akb')))).toBe(true);
    const c = await writeBundle(join(dir, 'c.akb'), { ...options(key, dir), created: new Date('2025-03-02T00:00:00Z') });
    expect(c.sha256).not.toBe(a.sha256);
  });

  it('reads and hashes every member without a sink, and stops after the header when asked', async () => {
    const dir = tempDir('verify-only');
    const { key, trusted } = ed25519();
    await writeBundle(join(dir, 'b.akb'), options(key, dir));
    await expect(readBundle(join(dir, 'b.akb'), { trustedKeys: [trusted] })).resolves.toMatchObject({ signature: 'verified' });
    const head = await readBundle(join(dir, 'b.akb'), { trustedKeys: [], verify: false, headerOnly: true });
    expect(head).toMatchObject({ signature: 'untrusted', signer: undefined, keyId: trusted.keyId });
  });

  it('stops before any payload when onHeader throws (a downgrade refused by the caller)', async () => {
    const dir = tempDir('on-header');
    const { key, trusted } = ed25519();
    await writeBundle(join(dir, 'b.akb'), options(key, dir));
    const { sink, files } = memorySink();
    const refusal = new Error('downgrade');
    await expect(readBundle(join(dir, 'b.akb'), { trustedKeys: [trusted], sink, onHeader: () => Promise.reject(refusal) })).rejects.toBe(refusal);
    expect(files.size).toBe(0);
  });

  it('reads from a stream as well as a file', async () => {
    const dir = tempDir('stream');
    const { key, trusted } = ed25519();
    await writeBundle(join(dir, 'b.akb'), options(key, dir));
    const { createReadStream } = await import('node:fs');
    await expect(readBundle(createReadStream(join(dir, 'b.akb'), { highWaterMark: 1000 }), { trustedKeys: [trusted] })).resolves.toBeDefined();
  });
});

describe('sinks', () => {
  it('a sink that stops early: the reader drains and still checks the hash; a sink error passes through unchanged', async () => {
    const dir = tempDir('sinks');
    const { key, trusted } = ed25519();
    await writeBundle(join(dir, 'b.akb'), options(key, dir));
    const seen: string[] = [];
    const lazy: BundleSink = {
      async file(entry, content) {
        seen.push(entry.path);
        for await (const _ of content) break; // reads one chunk, then returns
      },
    };
    await expect(readBundle(join(dir, 'b.akb'), { trustedKeys: [trusted], sink: lazy })).resolves.toBeDefined();
    expect(seen.length).toBe(5);
    // thrown: a sink failing like a full disk on the second file
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    let calls = 0;
    const failing: BundleSink = {
      async file(_entry, content) {
        if (++calls === 2) throw full;
        for await (const _ of content);
      },
    };
    await expect(readBundle(join(dir, 'b.akb'), { trustedKeys: [trusted], sink: failing })).rejects.toBe(full);
  });
});

describe('writeBundle refuses bad input with one line and leaves no file', () => {
  const cases: [string, (o: WriteBundleOptions) => WriteBundleOptions, string][] = [
    // thrown: two inputs with the same path
    ['a duplicate path', (o) => ({ ...o, files: [...o.files, { path: 'empty', role: 'other', source: { bytes: Buffer.from('2') } }] }), 'BUNDLE_BAD_INPUT'],
    // thrown: a path escaping with ../
    ['a path with ..', (o) => ({ ...o, files: [{ path: '../etc/passwd', role: 'other', source: { bytes: Buffer.from('x') } }] }), 'BUNDLE_BAD_INPUT'],
    // thrown: an absolute path
    ['an absolute path', (o) => ({ ...o, files: [{ path: '/etc/passwd', role: 'other', source: { bytes: Buffer.from('x') } }] }), 'BUNDLE_BAD_INPUT'],
    // thrown: a file that is also another file's folder
    ['a file that is a folder too', (o) => ({ ...o, files: [...o.files, { path: 'profile.json/x', role: 'other', source: { bytes: Buffer.from('x') } }] }), 'BUNDLE_BAD_INPUT'],
    // thrown: a file name of 101 bytes after the last "/" (no ustar header holds it)
    ['a name too long for ustar', (o) => ({ ...o, files: [{ path: `a/${'n'.repeat(101)}`, role: 'other', source: { bytes: Buffer.from('x') } }] }), 'BUNDLE_BAD_INPUT'],
    // thrown: a path under .akb/, which the slot keeps for itself
    ['a path under .akb/', (o) => ({ ...o, files: [{ path: '.akb/manifest.json', role: 'other', source: { bytes: Buffer.from('x') } }] }), 'BUNDLE_BAD_INPUT'],
    // thrown: a source file that does not exist
    ['a missing source file', (o) => ({ ...o, files: [{ path: 'x', role: 'other', source: { file: '/nonexistent/x' } }] }), 'BUNDLE_BAD_INPUT'],
    // thrown: an RSA key to sign with
    ['an RSA key', (o) => ({ ...o, key: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey }), 'KEY_NOT_ED25519'],
    // thrown: the public half of an Ed25519 key
    ['a public key', (o) => ({ ...o, key: generateKeyPairSync('ed25519').publicKey }), 'KEY_NOT_ED25519'],
    // thrown: a version that is not semver
    ['a bad version', (o) => ({ ...o, version: 'v1' }), 'BUNDLE_BAD_INPUT'],
    // thrown: an invalid Date
    ['an invalid created', (o) => ({ ...o, created: new Date('nope') }), 'BUNDLE_BAD_INPUT'],
  ];
  for (const [what, edit, code] of cases) {
    it(what, async () => {
      const dir = tempDir('bad-write');
      const { key } = ed25519();
      const out = join(dir, 'b.akb');
      const err = await writeBundle(out, edit(options(key, dir))).catch((e: unknown) => e);
      expect(isAkbError(err) && err.code).toBe(code);
      expect((err as Error).message).not.toContain('\n');
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    });
  }

  it('refuses an output folder that does not exist (BUNDLE_WRITE_FAILED)', async () => {
    // thrown: -o into a missing folder
    const { key } = ed25519();
    const dir = tempDir('bad-out');
    await expect(writeBundle(join(dir, 'no/such/b.akb'), options(key, dir))).rejects.toMatchObject({ code: 'BUNDLE_WRITE_FAILED' });
  });
});

describe('bundleCreatedTime', () => {
  it('takes SOURCE_DATE_EPOCH, else the commit time of HEAD, else says to set SOURCE_DATE_EPOCH', () => {
    expect(bundleCreatedTime({ SOURCE_DATE_EPOCH: '1700000000' }).toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(bundleCreatedTime({}, process.cwd()).getTime()).toBeGreaterThan(0);
    // thrown: SOURCE_DATE_EPOCH that is not a number; a folder that is not a git checkout
    expect(() => bundleCreatedTime({ SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(/SOURCE_DATE_EPOCH/);
    expect(() => bundleCreatedTime({}, tempDir('no-git'))).toThrow(/SOURCE_DATE_EPOCH/);
  });
});
