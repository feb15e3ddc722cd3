/**
 * Key files: generating an Ed25519 pair (never overwriting), loading a signing key, loading trusted keys
 * from files and folders, and refusing keys that are RSA, EC, encrypted, private-as-trusted or garbage.
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { statSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAkbError } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/craft.js';
import { generateKeyFiles, keyIdOf, loadPrivateKey, loadTrustedKeys } from './keys.js';

async function code(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isAkbError(e)) return `not an AkbError: ${String(e)}`;
  expect(e.message).not.toContain('\n');
  return e.code;
}

describe('keys', () => {
  it('generates a pair, loads both halves, and agrees on the key id', async () => {
    const dir = tempDir('keys');
    const made = await generateKeyFiles(join(dir, 'k'), 'release');
    expect(statSync(made.privateKey).mode & 0o777).toBe(0o600);
    expect(made.keyId).toMatch(/^[0-9a-f]{64}$/);
    const priv = await loadPrivateKey(made.privateKey);
    expect(keyIdOf(priv)).toBe(made.keyId);
    const [fromFile] = await loadTrustedKeys([made.publicKey]);
    expect(fromFile).toMatchObject({ keyId: made.keyId, source: made.publicKey });
    // the raw public key hashed by hand
    const raw = createPublicKey(readFileSync(made.publicKey, 'utf8')).export({ format: 'der', type: 'spki' }).subarray(-32);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(raw).digest('hex')).toBe(made.keyId);
  });

  it('refuses to overwrite a key and refuses a name that is not a plain file name', async () => {
    const dir = tempDir('keys-exist');
    await generateKeyFiles(dir, 'a');
    // thrown: generating "a" again in the same folder; a name with a "/"
    expect(await code(generateKeyFiles(dir, 'a'))).toBe('KEY_EXISTS');
    expect(await code(generateKeyFiles(dir, '../evil'))).toBe('BAD_OPTION');
  });

  it('reads a folder of .pub files, ignoring other files and duplicates', async () => {
    const dir = tempDir('trust');
    const a = await generateKeyFiles(dir, 'a');
    const b = await generateKeyFiles(dir, 'b');
    writeFileSync(join(dir, 'notes.txt'), 'not a key');
    const keys = await loadTrustedKeys([dir, a.publicKey]);
    expect(keys.map((k) => k.keyId).sort()).toEqual([a.keyId, b.keyId].sort());
    expect(await loadTrustedKeys([tempDir('empty')])).toEqual([]);
  });

  it('refuses RSA and EC keys, encrypted and garbage keys, a private key as trusted, and a huge file', async () => {
    const dir = tempDir('bad-keys');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = generateKeyPairSync('ed25519');
    const write = (name: string, text: string | Buffer): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    // thrown: an RSA private key to sign with; an EC private key; an RSA public key to trust; an EC public key
    expect(await code(loadPrivateKey(write('rsa.key', rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }))))).toBe('KEY_NOT_ED25519');
    expect(await code(loadPrivateKey(write('ec.key', ec.privateKey.export({ format: 'pem', type: 'pkcs8' }))))).toBe('KEY_NOT_ED25519');
    expect(await code(loadTrustedKeys([write('rsa.pub', rsa.publicKey.export({ format: 'pem', type: 'spki' }))]))).toBe('KEY_NOT_ED25519');
    expect(await code(loadTrustedKeys([write('ec.pub', ec.publicKey.export({ format: 'pem', type: 'spki' }))]))).toBe('KEY_NOT_ED25519');
    // thrown: an encrypted PKCS#8 key; garbage; a public key given as the signing key
    const encrypted = ed.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' });
    expect(await code(loadPrivateKey(write('enc.key', encrypted)))).toBe('KEY_UNREADABLE');
    expect(await code(loadPrivateKey(write('junk.key', 'hello')))).toBe('KEY_UNREADABLE');
    expect(await code(loadPrivateKey(write('pub-as.key', ed.publicKey.export({ format: 'pem', type: 'spki' }))))).toBe('KEY_UNREADABLE');
    // thrown: a private key passed as trusted; a missing file; a 1 MiB file; a folder given as the signing key
    expect(await code(loadTrustedKeys([write('priv.pub', ed.privateKey.export({ format: 'pem', type: 'pkcs8' }))]))).toBe('KEY_UNREADABLE');
    expect(await code(loadTrustedKeys([join(dir, 'missing.pub')]))).toBe('KEY_UNREADABLE');
    expect(await code(loadPrivateKey(write('huge.key', Buffer.alloc(1024 * 1024, 0x41))))).toBe('KEY_UNREADABLE');
    mkdirSync(join(dir, 'folder.key'));
    expect(await code(loadPrivateKey(join(dir, 'folder.key')))).toBe('KEY_UNREADABLE');
  });
});
