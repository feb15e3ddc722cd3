/**
 * `--ca <file> --cert <file> --key <file>` for the akb commands that connect to a broker. The flags are
 * protocol's TLS_FLAGS (@akb/protocol/mqtt, mqtt/tls.ts), declared here as the same data so that starting
 * `akb` does not load mqtt.js (tls-flags.test.ts holds the two equal); loading the files is protocol's
 * loadTlsFlags: bounded reads, PEM checked, errors naming the file, a certificate without its key and TLS
 * files with a URL that is not TLS refused.
 */
import type { MqttTlsOptions } from '@akb/protocol/mqtt';

export const TLS_OPTIONS = {
  ca: { type: 'string', describe: "CA certificate (PEM) the broker's certificate must chain to (mqtts://; default: the system's CAs)" },
  cert: { type: 'string', describe: 'client certificate (PEM) for a broker that authenticates clients by certificate (with --key)' },
  key: { type: 'string', describe: 'private key (PEM) of --cert' },
} as const;

/** The TLS options for `url` from the parsed flags, or undefined when none is given. */
export async function tlsFromArgs(url: string, args: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }): Promise<{ tls?: MqttTlsOptions }> {
  const { loadTlsFlags } = await import('@akb/protocol/mqtt');
  const tls = await loadTlsFlags(url, { ca: args.ca, cert: args.cert, key: args.key });
  return tls === undefined ? {} : { tls };
}
