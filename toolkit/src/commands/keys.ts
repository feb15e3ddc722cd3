/**
 * `akb keys generate`: an Ed25519 key pair for signing bundles (`<name>.key`, PKCS#8 PEM, mode 0600) and
 * for boards to trust (`<name>.pub`, SPKI PEM). Never overwrites a key.
 */
import { defineCommand, defineGroup } from './define.js';
import { emit } from '../run-command.js';

const generate = defineCommand({
  command: 'generate',
  describe: 'Make an Ed25519 key pair for signing bundles; prints the key id and the two paths',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'folder to write <name>.key and <name>.pub into (made if missing)' })
      .option('name', { type: 'string', demandOption: true, describe: 'file name of the pair, e.g. release-2025' })
      .option('json', { type: 'boolean', default: false })
      .epilog('The key id is the SHA-256 of the raw 32-byte public key; manifest.sig and OTA offers name the signer by it. An existing key is never overwritten.'),
  run: async (args, io) => {
    const { generateKeyFiles } = await import('@akb/flash');
    const made = await generateKeyFiles(args.out, args.name);
    emit(io, args.json, made, () => [
      `key id   ${made.keyId}`,
      `private  ${made.privateKey} (keep it secret; sign with akb package --key)`,
      `public   ${made.publicKey} (boards trust it in /etc/akb/keys/, tools with --trust)`,
    ]);
  },
});

export const keysCommand = defineGroup('keys', 'Ed25519 keys that sign bundles', [generate]);
