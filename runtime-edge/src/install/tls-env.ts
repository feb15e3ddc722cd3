/**
 * The install agent's TLS files. Its connections (the status reporter, the probe `akb-edge --probe` it
 * starts, and those of its callers) take the CA certificate, client certificate and client key as akb-edge
 * does: `--ca/--cert/--key`, else AKB_TLS_CA/AKB_TLS_CERT/AKB_TLS_KEY (paths), each part on its own. The
 * entry point (main.ts, `akb install`) checks the files once (protocol's loadTlsFlags: bounded reads, PEM,
 * cert with key, a TLS URL) and puts their absolute paths into the environment: the probe inherits it
 * (health.ts keeps AKB_TLS_*, and runs in the slot's folder, hence absolute paths), and the reporter reads it
 * when its broker is mqtts:// and its caller passed no TLS options. One source, so the status connection
 * and the probe can never use different identities.
 */
import { resolve } from 'node:path';
import { isTlsUrl, loadTlsFlags, type MqttTlsOptions, type TlsFlagValues } from '@akb/protocol/mqtt';

/** The environment variables, as akb-edge reads them. */
export const TLS_ENV = { ca: 'AKB_TLS_CA', cert: 'AKB_TLS_CERT', key: 'AKB_TLS_KEY' } as const;
const PARTS = ['ca', 'cert', 'key'] as const;

/** Each part: the flag, else its variable (an empty one counts as unset); absolute paths. */
export function tlsPaths(flags: TlsFlagValues, env: NodeJS.ProcessEnv): TlsFlagValues {
  const paths: TlsFlagValues = {};
  for (const part of PARTS) {
    const value = flags[part] || env[TLS_ENV[part]] || undefined;
    if (value !== undefined) paths[part] = resolve(value);
  }
  return paths;
}

/**
 * Checks the TLS files for `broker` (undefined: none named) and writes their absolute paths into `env`
 * (a flag given replaces the variable). Throws protocol's one-line errors (exit 2) for a file that is not
 * PEM, a certificate without its key, or TLS files with a broker URL that is not TLS.
 */
export async function exportTlsFiles(broker: string, flags: TlsFlagValues, env: NodeJS.ProcessEnv): Promise<MqttTlsOptions | undefined> {
  const paths = tlsPaths(flags, env);
  const tls = await loadTlsFlags(broker, paths);
  for (const part of PARTS) {
    const path = paths[part];
    if (path !== undefined) env[TLS_ENV[part]] = path;
  }
  return tls;
}

/** The TLS options AKB_TLS_* name for `broker`, or undefined when it is not a TLS URL or none is set. */
export async function tlsFromEnv(broker: string, env: NodeJS.ProcessEnv): Promise<MqttTlsOptions | undefined> {
  if (!isTlsUrl(broker)) return undefined;
  return loadTlsFlags(broker, tlsPaths({}, env));
}
