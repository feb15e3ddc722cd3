/**
 * What `akb fleet provision` makes (fleet.ts holds the command): a broker user name's checks, a random
 * password and its Mosquitto 2 password-file line, the fleet CA (made on first use, never overwritten) and
 * certificates it signs. Keys are made by Node (EC P-256, PKCS#8 PEM) and written with mode 0600 by their
 * creator, so no key is ever readable by others, not even for a moment; certificates are made by the
 * `openssl` program through execFile with arguments (never a shell), so no name can inject a command.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, pbkdf2, randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AkbError, assertPortableDeviceId } from '@akb/protocol';

const pbkdf2Async = promisify(pbkdf2);
const execFileAsync = promisify(execFile);

/**
 * Refuses an id a broker or the topic tree would not take (protocol's assertPortableDeviceId, the rule
 * connectDevice applies too: 1-64 of `A-Z a-z 0-9 _ -`, so no '.', which NATS's MQTT interface maps to a
 * subject separator, and no '+', '#', '/', ':' (the password file's separator) or whitespace), or one that
 * is the user name of another role (BAD_DEVICE_ID, exit 2).
 */
export function checkProvisionId(id: string, reserved: readonly string[] = []): string {
  assertPortableDeviceId(id);
  if (reserved.includes(id)) {
    throw new AkbError('BAD_DEVICE_ID', `device id ${id} is the user name of the cloud, a tool or a gateway`, {
      hint: 'Mosquitto applies the device patterns to every user: give the device another id (or pass --service to provision that user)',
      exitCode: 2,
    });
  }
  return id;
}

/** Mosquitto 2.0's defaults for `$7$` (PBKDF2-SHA512) lines: 101 iterations, a 12-byte salt, a 64-byte hash. */
export const MOSQUITTO_PBKDF2 = { iterations: 101, saltBytes: 12, hashBytes: 64 } as const;

/** A random password: 24 bytes, base64url (32 characters, no ':' or newline). */
export function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** `user:$7$101$<salt>$<hash>`, the line `mosquitto_passwd` writes for `password` (salt random unless given). */
export async function mosquittoPasswordLine(user: string, password: string, salt: Buffer = randomBytes(MOSQUITTO_PBKDF2.saltBytes)): Promise<string> {
  const { iterations, hashBytes } = MOSQUITTO_PBKDF2;
  const hash = await pbkdf2Async(password, salt, iterations, hashBytes, 'sha512');
  return `${user}:$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** Writes `text` to a new file with `mode`; refuses (EEXIST) to replace one unless `replace`. */
export async function writeNew(path: string, text: string, mode: number, replace = false): Promise<void> {
  if (replace) await rm(path, { force: true });
  const file = await open(path, 'wx', mode);
  try {
    await file.writeFile(text);
  } finally {
    await file.close();
  }
}

/** A new EC P-256 private key, PKCS#8 PEM. */
export function newPrivateKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { timeout: 30_000, maxBuffer: 1 << 20 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new AkbError('OPENSSL_MISSING', 'the openssl program is not on PATH', { hint: 'install it: apt-get install openssl' });
    const why = (err.stderr ?? err.message).trim().split('\n').slice(-2).join(' ');
    throw new AkbError('OPENSSL_FAILED', `openssl ${args[0]} failed: ${why.slice(0, 300)}`, { hint: 'check the CA folder and the openssl installation' });
  }
}

export interface FleetCa {
  dir: string;
  cert: string;
  key: string;
  /** True when this call made it. */
  created: boolean;
}

/**
 * The fleet CA in `dir` (`ca.crt`, `ca.key`): used as found when both exist; made when neither does (ten
 * years, EC P-256, `CN=<name>`); a folder holding only one of them is refused, never repaired.
 */
export async function ensureFleetCa(dir: string, name = 'akb fleet CA'): Promise<FleetCa> {
  const cert = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  const [hasCert, hasKey] = await Promise.all([exists(cert), exists(key)]);
  if (hasCert && hasKey) return { dir, cert, key, created: false };
  if (hasCert !== hasKey) {
    throw new AkbError('CA_INCOMPLETE', `the CA folder ${dir} has ${hasCert ? 'ca.crt but no ca.key' : 'ca.key but no ca.crt'}`, {
      hint: 'restore the missing file, or point --ca-dir at another folder (an existing CA is never overwritten)',
      exitCode: 2,
    });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeNew(key, newPrivateKey(), 0o600);
  try {
    await openssl(['req', '-x509', '-new', '-key', key, '-out', cert, '-days', '3650', '-sha256', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  } catch (e) {
    await rm(key, { force: true });
    throw e;
  }
  return { dir, cert, key, created: true };
}

export interface CertificateRequest {
  /** The subject's common name: the device id (Mosquitto's use_identity_as_username takes it as the user name). */
  commonName: string;
  /** Where the certificate goes (PEM). */
  certPath: string;
  /** The subject's private key file (PEM). */
  keyPath: string;
  /** A server certificate (the broker's): these DNS names or IP addresses as subjectAltName. Default: a client certificate. */
  serverNames?: readonly string[];
  /** Validity, days (default 825). */
  days?: number;
}

/** Signs a certificate for `keyPath`'s key with the CA: a client certificate (clientAuth), or a server one. */
export async function issueCertificate(ca: FleetCa, r: CertificateRequest): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'akb-csr-'));
  try {
    const csr = join(work, 'req.csr');
    const ext = join(work, 'ext.cnf');
    await openssl(['req', '-new', '-key', r.keyPath, '-out', csr, '-subj', `/CN=${r.commonName}`]);
    const san = (r.serverNames ?? []).map((n) => (/^[0-9.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    const lines = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
    lines.push(r.serverNames === undefined ? 'extendedKeyUsage=clientAuth' : `extendedKeyUsage=serverAuth\nsubjectAltName=${san}`);
    await writeFile(ext, `${lines.join('\n')}\n`);
    await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', String(r.days ?? 825), '-sha256', '-extfile', ext, '-out', r.certPath]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The CA certificate's PEM text (to copy beside a device's files), read bounded and checked. */
export async function readCaCert(ca: FleetCa): Promise<string> {
  const { readPemFile } = await import('@akb/protocol/mqtt');
  return readPemFile(ca.cert, 'certificate', 'fleet CA certificate');
}

export { exists as pathExists };
