/**
 * TLS to the broker: the `--ca <file> --cert <file> --key <file>` flags every akb program that connects
 * takes (akb-edge, akb-cloud, the akb commands), and loading what they name. One helper, so every program
 * checks the same things the same way:
 *
 * - each file is read up to MAX_PEM_BYTES (a larger one is refused before its bytes are held) and must hold
 *   a PEM block of the right kind (`CERTIFICATE` for --ca and --cert, a `PRIVATE KEY` for --key); a file
 *   that cannot be read or is not PEM is an AkbError (exit 2) naming the file;
 * - `--cert` and `--key` go together (a client certificate without its key authenticates nothing);
 * - TLS material with a URL that is not TLS (`mqtt://`, `ws://`) is refused: mqtt.js would connect in the
 *   clear and ignore it, and the user would believe the link encrypted.
 *
 * A `mqtts://` or `wss://` URL without `--ca` trusts the system's CA store (Node's default).
 */
import { open } from 'node:fs/promises';
import { AkbError } from '../errors.js';

/** The largest PEM file read: a certificate chain or key is a few KiB. */
export const MAX_PEM_BYTES = 256 * 1024;

/** What connectMqtt / connectDevice take as `tls`: PEM contents, not paths. */
export interface MqttTlsOptions {
  /** CA certificate(s) to trust, PEM. Default: the system's store. */
  ca?: string;
  /** Client certificate, PEM (with `key`). */
  cert?: string;
  /** Client private key, PEM (with `cert`). */
  key?: string;
  /** Refuse a broker whose certificate does not verify (default true). */
  rejectUnauthorized?: boolean;
}

/** The three flags as yargs option settings (plain data: protocol does not import yargs). */
export const TLS_FLAGS = {
  ca: { type: 'string', describe: "CA certificate (PEM) the broker's certificate must chain to (mqtts://; default: the system's CAs)" },
  cert: { type: 'string', describe: 'client certificate (PEM) for a broker that authenticates clients by certificate (with --key)' },
  key: { type: 'string', describe: 'private key (PEM) of --cert' },
} as const;

/** The flags as parsed (each a path, or undefined when not given). */
export interface TlsFlagValues {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

const TLS_URL = /^(mqtts|wss|ssl|tls):\/\//i;

/** True when `url` connects over TLS (mqtts://, wss://, ssl://, tls://). */
export function isTlsUrl(url: string): boolean {
  return TLS_URL.test(url);
}

function usage(message: string, hint: string, cause?: unknown): AkbError {
  return new AkbError('TLS_FILE', message, { hint, exitCode: 2, ...(cause === undefined ? {} : { cause }) });
}

/** Reads `path` up to `max` bytes as UTF-8; what cannot be read is an AkbError naming the file and flag. */
async function readBoundedText(path: string, max: number, what: string): Promise<string> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw usage(`cannot read the ${what} ${path} (${why})`, 'check the path and that this user may read it', cause);
  }
  try {
    const info = await file.stat();
    if (!info.isFile()) throw usage(`the ${what} ${path} is not a file`, 'pass a PEM file');
    if (info.size > max) throw usage(`the ${what} ${path} is ${info.size} bytes, more than the ${max} a PEM file may have here`, 'pass a PEM certificate or key file');
    const buffer = Buffer.alloc(max + 1);
    const { bytesRead } = await file.read(buffer, 0, max + 1, 0);
    if (bytesRead > max) throw usage(`the ${what} ${path} grew past ${max} bytes while read`, 'pass a PEM file');
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await file.close();
  }
}

/** The label kinds each flag needs: a CERTIFICATE for --ca/--cert, any PRIVATE KEY (PKCS#8, RSA, EC) for --key. */
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

/**
 * Checks that `text` holds a PEM block of `kind`; `source` names where it came from in the error (a file,
 * an environment variable).
 */
export function checkPem(text: string, kind: 'certificate' | 'key', source: string): string {
  const ok = kind === 'certificate' ? CERT_BLOCK.test(text) : KEY_BLOCK.test(text);
  if (!ok) {
    const want = kind === 'certificate' ? '-----BEGIN CERTIFICATE-----' : '-----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY)';
    throw usage(`${source} is not a PEM ${kind} (no ${want} block)`, kind === 'certificate' ? 'pass a PEM certificate (openssl x509 -outform PEM)' : 'pass the PEM private key of the certificate');
  }
  return text;
}

/** Reads one PEM file of `kind`, bounded, checked. */
export async function readPemFile(path: string, kind: 'certificate' | 'key', what: string): Promise<string> {
  return checkPem(await readBoundedText(path, MAX_PEM_BYTES, what), kind, `the ${what} ${path}`);
}

/**
 * The TLS options for `url` from the flags' paths: undefined when no flag is given; the files' contents,
 * checked, otherwise. Refuses --cert without --key (and the reverse) and TLS files with a URL that is not TLS.
 */
export async function loadTlsFlags(url: string | readonly string[], flags: TlsFlagValues, extra: { rejectUnauthorized?: boolean } = {}): Promise<MqttTlsOptions | undefined> {
  const given = (['ca', 'cert', 'key'] as const).filter((k) => flags[k] !== undefined && flags[k] !== '');
  if (given.length === 0) return undefined;
  checkTlsPair(flags.cert, flags.key, '--cert', '--key');
  checkTlsUrl(url, given.map((k) => `--${k}`).join(', '));
  const tls: MqttTlsOptions = { ...extra };
  if (flags.ca) tls.ca = await readPemFile(flags.ca, 'certificate', 'CA certificate (--ca)');
  if (flags.cert) tls.cert = await readPemFile(flags.cert, 'certificate', 'client certificate (--cert)');
  if (flags.key) tls.key = await readPemFile(flags.key, 'key', 'client key (--key)');
  return tls;
}

/** Refuses a certificate without its key or a key without its certificate. */
export function checkTlsPair(cert: unknown, key: unknown, certName: string, keyName: string): void {
  const hasCert = cert !== undefined && cert !== '';
  const hasKey = key !== undefined && key !== '';
  if (hasCert !== hasKey) {
    throw usage(`${hasCert ? certName : keyName} given without ${hasCert ? keyName : certName}`, `a client certificate needs its private key: pass both ${certName} and ${keyName}`);
  }
}

/**
 * Refuses TLS settings with a URL that would connect in the clear; `url` may be a list of brokers (an array
 * or comma-separated), each of which must be TLS.
 */
export function checkTlsUrl(url: string | readonly string[], what: string): void {
  const urls = (typeof url === 'string' ? url.split(',') : url).map((u) => u.trim()).filter((u) => u !== '');
  const clear = urls.find((u) => !isTlsUrl(u));
  if (clear !== undefined) {
    throw usage(`${what} given, but the broker URL ${clear.replace(/\/\/[^@/]*@/, '//***@').slice(0, 200)} is not TLS`, 'use mqtts://host:8883 (or wss://) with TLS files; mqtt:// connects in the clear');
  }
}
