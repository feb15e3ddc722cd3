/**
 * `akb-edge --config <edge.json>`: the edge configuration file (protocol's `edge-config` schema), read up to
 * MAX_CONFIG_BYTES and validated before anything starts; a bad file is a usage error (exit 2) of one line
 * naming the field (`at link.modem.sf: Too big …`). Relative paths in it are resolved against the file's
 * folder. The daemon takes from it the device id, profile, broker (url, protocol level, client id, user name,
 * password by reference, TLS files with the key by reference, keepalive, reconnect period), link section,
 * telemetry interval and models folder (`paths.models`, when the file sets it); flags given explicitly and
 * environment variables override each (settings.ts). `paths.root`, `paths.data` and `logLevel` are
 * validated and not used by akb-edge (the install agent owns the slots; the daemon logs at info).
 */
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AkbError, isAkbError, validateMessage, type EdgeConfig, type SecretRef } from '@akb/protocol';

/** The largest configuration file read. */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** The largest secret file read (a password or key reference). */
const MAX_SECRET_BYTES = 64 * 1024;

export interface LoadedEdgeConfig {
  config: EdgeConfig;
  /** The file as given. */
  path: string;
  /** Its folder, which relative paths in it are resolved against. */
  dir: string;
  /** `paths.models` when the file sets it (resolved), else undefined: the schema's default is the slot's folder. */
  models: string | undefined;
}

function usage(message: string, hint: string, cause?: unknown): AkbError {
  return new AkbError('CONFIG_INVALID', message, { hint, exitCode: 2, ...(cause === undefined ? {} : { cause }) });
}

const HINT = 'protocol/schema/edge-config.schema.json describes every field';

async function readBounded(path: string, max: number, what: string): Promise<Buffer> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw usage(`cannot read the ${what} ${path} (${why})`, what === 'configuration' ? 'pass --config <edge.json>' : 'check the path in the configuration', cause);
  }
  try {
    const info = await file.stat();
    if (!info.isFile()) throw usage(`${what} ${path} is not a file`, HINT);
    if (info.size > max) throw usage(`${what} ${path} is ${info.size} bytes, more than the ${max} it may have`, HINT);
    const buffer = Buffer.alloc(max + 1);
    const { bytesRead } = await file.read(buffer, 0, max + 1, 0);
    if (bytesRead > max) throw usage(`${what} ${path} grew past ${max} bytes while read`, HINT);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Reads and validates an edge configuration file; usage errors (exit 2) name the field. */
export async function readEdgeConfig(path: string): Promise<LoadedEdgeConfig> {
  const bytes = await readBounded(path, MAX_CONFIG_BYTES, 'configuration');
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw usage(`configuration ${path} is not JSON: ${(cause as Error).message}`, HINT, cause);
  }
  let config: EdgeConfig;
  try {
    config = validateMessage('edge-config', raw);
  } catch (cause) {
    throw usage(`configuration ${path} is invalid: ${isAkbError(cause) ? cause.message : String(cause)}`, HINT, cause);
  }
  const dir = dirname(resolve(path));
  const link = config.link.driver === 'serial' ? { ...config.link, path: resolve(dir, config.link.path) } : config.link;
  const setsModels = typeof raw === 'object' && raw !== null && typeof (raw as { paths?: { models?: unknown } }).paths?.models === 'string';
  return { config: { ...config, link }, path, dir, models: setsModels ? resolve(dir, config.paths.models) : undefined };
}

/** The secret a reference names: an environment variable, or a file (trailing newline removed). */
export async function resolveSecret(ref: SecretRef, dir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined) throw usage(`the configuration's password is in the environment variable ${ref.env}, which is not set`, `set ${ref.env}`);
    return value;
  }
  const bytes = await readBounded(resolve(dir, ref.file), MAX_SECRET_BYTES, 'secret file');
  return bytes.toString('utf8').replace(/\r?\n$/u, '');
}
