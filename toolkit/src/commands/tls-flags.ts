/**
 * `--ca <file> --cert <file> --key <file>` for the akb commands that connect to a broker: protocol's
 * TLS_FLAGS, taken from the package root (mqtt/tls.ts loads no MQTT library), so starting `akb` does not
 * load mqtt.js; loading the files is protocol's loadTlsFlags: bounded reads, PEM checked, errors naming the
 * file, a certificate without its key and TLS files with a URL that is not TLS refused.
 */
import { TLS_FLAGS } from '@akb/protocol';
import type { MqttTlsOptions } from '@akb/protocol/mqtt';

export const TLS_OPTIONS = TLS_FLAGS;

/** The TLS options for `url` from the parsed flags, or undefined when none is given. */
export async function tlsFromArgs(url: string, args: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }): Promise<{ tls?: MqttTlsOptions }> {
  const { loadTlsFlags } = await import('@akb/protocol/mqtt');
  const tls = await loadTlsFlags(url, { ca: args.ca, cert: args.cert, key: args.key });
  return tls === undefined ? {} : { tls };
}
