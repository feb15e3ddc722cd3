/**
 * The fleet key akb-cloud signs KB announces and entry responses with (`akb-cloud --fleet-key`): an Ed25519
 * private key, PKCS#8 PEM, unencrypted, the same kind of file `akb keys generate` writes and `akb package`
 * and `akb deploy` take (the cloud does not import the toolkit, so it reads the file itself). A file over
 * 64 KiB is refused before it is read; an RSA or EC key is refused with one line.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { AkbError, ed25519KeyId } from '@akb/protocol';

const MAX_KEY_FILE_BYTES = 64 * 1024;

export async function loadFleetKey(path: string): Promise<{ key: KeyObject; keyId: string }> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_KEY_FILE_BYTES) throw new AkbError('KEY_UNREADABLE', `fleet key ${path} is ${size} bytes; a key file is at most ${MAX_KEY_FILE_BYTES}`, { hint: 'pass the .key file that akb keys generate wrote' });
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof AkbError) throw e;
    throw new AkbError('KEY_UNREADABLE', `cannot read fleet key ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'check the --fleet-key path', exitCode: 2 });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (e) {
    throw new AkbError('KEY_UNREADABLE', `${path} is not a readable private key: ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 160)}`, {
      hint: 'pass the unencrypted PKCS#8 PEM .key file that akb keys generate wrote',
      exitCode: 2,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AkbError('KEY_NOT_ED25519', `${path} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not Ed25519`, { hint: 'the fleet key is Ed25519: akb keys generate', exitCode: 2 });
  }
  return { key, keyId: ed25519KeyId(key) };
}
