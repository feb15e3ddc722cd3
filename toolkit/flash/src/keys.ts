/**
 * Ed25519 signing keys for bundles: generating a key pair as PEM files, loading a private key for
 * signing, loading the public keys a board trusts, and the key id (the SHA-256 of the raw 32-byte public
 * key, the id `manifest.sig` and an OTA offer name). Key files are small: anything over 64 KiB is refused
 * before it is read. Only Ed25519 is accepted; an RSA or EC key is refused with one line.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AkbError } from '@akb/protocol';

/** A public key a reader accepts signatures from. */
export interface TrustedKey {
  /** SHA-256 (hex) of the raw 32-byte public key. */
  keyId: string;
  key: KeyObject;
  /** The file it came from. */
  source: string;
}

const MAX_KEY_FILE_BYTES = 64 * 1024;
const MAX_TRUST_FOLDER_KEYS = 1000;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** SHA-256 hex of the raw 32-byte Ed25519 public key (the private key's public half when given one). */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  requireEd25519(pub, 'key');
  const { x } = pub.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new AkbError('KEY_NOT_ED25519', 'key has no Ed25519 public value');
  return createHash('sha256').update(Buffer.from(x, 'base64url')).digest('hex');
}

function requireEd25519(key: KeyObject, where: string): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AkbError('KEY_NOT_ED25519', `${where} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not Ed25519`, {
      hint: 'bundles are signed with Ed25519 only; make a key with `akb keys generate`',
    });
  }
}

/** Writes `<name>.key` (PKCS#8 PEM, mode 0600) and `<name>.pub` (SPKI PEM) in `dir`; never overwrites. */
export async function generateKeyFiles(dir: string, name: string): Promise<{ privateKey: string; publicKey: string; keyId: string }> {
  if (!KEY_NAME.test(name)) {
    throw new AkbError('BAD_OPTION', `key name ${JSON.stringify(name.slice(0, 80))} is not a plain file name`, {
      hint: 'use 1-64 letters, digits, ".", "-" or "_", starting with a letter or digit',
    });
  }
  const privateKey = resolve(dir, `${name}.key`);
  const publicKey = resolve(dir, `${name}.pub`);
  await mkdir(dir, { recursive: true });
  for (const path of [privateKey, publicKey]) {
    if (await exists(path)) throw new AkbError('KEY_EXISTS', `${path} already exists; a key is never overwritten`, { hint: 'pick another --name or --out' });
  }
  const pair = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(pair.publicKey);
  await writeNew(privateKey, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  try {
    await writeNew(publicKey, pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 0o644);
  } catch (e) {
    await rm(privateKey, { force: true });
    throw e;
  }
  return { privateKey, publicKey, keyId };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Creates `path` (refusing an existing one), writes `text` with `mode`, and fsyncs it. */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode).catch((e: unknown) => {
    throw new AkbError('KEY_EXISTS', `cannot create ${path}: ${(e as Error).message}`, { hint: 'pick another --name or --out' });
  });
  try {
    await handle.writeFile(text);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a key file, at most 64 KiB, as text. */
async function readKeyFile(path: string): Promise<string> {
  const info = await stat(path).catch((e: unknown) => {
    throw new AkbError('KEY_UNREADABLE', `cannot read key ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'check the path',
    });
  });
  if (!info.isFile()) throw new AkbError('KEY_UNREADABLE', `key ${path} is not a file`, { hint: 'pass a .key/.pub file or a folder of .pub files' });
  if (info.size > MAX_KEY_FILE_BYTES) throw new AkbError('KEY_UNREADABLE', `key ${path} is ${info.size} bytes; a key file is at most ${MAX_KEY_FILE_BYTES}`, { hint: 'pass a PEM key file' });
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buf, 0, info.size, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Loads an Ed25519 private key (PKCS#8 PEM, unencrypted) for signing. */
export async function loadPrivateKey(path: string): Promise<KeyObject> {
  const text = await readKeyFile(path);
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (e) {
    const encrypted = /ENCRYPTED/.test(text);
    throw new AkbError('KEY_UNREADABLE', `${path} is not a readable private key${encrypted ? ' (it is encrypted)' : ''}: ${oneLine((e as Error).message)}`, {
      hint: 'pass the unencrypted PKCS#8 PEM .key file that `akb keys generate` wrote',
    });
  }
  requireEd25519(key, path);
  return key;
}

/**
 * Loads trusted public keys: each path is a PEM public key file, or a folder whose `*.pub` files are read
 * (in name order, at most 1000). A private key given as trusted is refused (pass its .pub). Duplicate
 * keys are kept once. An empty result is allowed: a reader then refuses every bundle as untrusted.
 */
export async function loadTrustedKeys(paths: readonly string[]): Promise<TrustedKey[]> {
  const out = new Map<string, TrustedKey>();
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    const files = info?.isDirectory() ? await pubFilesIn(path) : [path];
    for (const file of files) {
      const key = await loadPublicKey(file);
      const keyId = keyIdOf(key);
      if (!out.has(keyId)) out.set(keyId, { keyId, key, source: file });
    }
  }
  return [...out.values()];
}

async function pubFilesIn(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.pub')).sort();
  if (names.length > MAX_TRUST_FOLDER_KEYS) {
    throw new AkbError('KEY_UNREADABLE', `${dir} holds ${names.length} .pub files; at most ${MAX_TRUST_FOLDER_KEYS} are read`, { hint: 'trust fewer keys' });
  }
  return names.map((n) => join(dir, n));
}

async function loadPublicKey(path: string): Promise<KeyObject> {
  const text = await readKeyFile(path);
  if (/PRIVATE KEY/.test(text)) {
    throw new AkbError('KEY_UNREADABLE', `${path} is a private key; trust its public half`, { hint: 'pass the .pub file that `akb keys generate` wrote beside it' });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (e) {
    throw new AkbError('KEY_UNREADABLE', `${path} is not a readable public key: ${oneLine((e as Error).message)}`, { hint: 'pass an SPKI PEM .pub file' });
  }
  requireEd25519(key, path);
  return key;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').slice(0, 200);
}
