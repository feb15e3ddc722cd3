/**
 * What akb-edge runs with, from its flags, its environment and its configuration file, in this order of
 * precedence: a flag given on the command line, then the environment variable (AKB_DEVICE_ID, AKB_BROKER,
 * AKB_PROFILE, AKB_MODELS; an empty one counts as unset), then the `--config` file, then the built-in
 * default. The link:
 *
 * - no `--link`: the file's `link` section (the schema's default, an emulated AWGN channel at 10 dB, when
 *   the file has none), or `mqtt` without a file;
 * - `--link mqtt|emulated`: that driver; the file's section when it is of the same driver, else the
 *   shorthand (mqtt at MTU 1024; emulated AWGN at `--snr-db`, seeded);
 * - `--link serial|sdr-udp`: the file's section, which must be of that driver (the modem, port and radio
 *   settings live only in the file);
 * - `--snr-db` and `--seed` given override an emulated section's `snrDb` and `seed`; `--mtu` and
 *   `--tile-budget-ms` override any section's (runtime.ts).
 *
 * TLS (mqtts://, wss://): each of the CA certificate, client certificate and client key is taken on its own
 * from `--ca`/`--cert`/`--key`, else AKB_TLS_CA/AKB_TLS_CERT/AKB_TLS_KEY (paths), else the file's
 * `broker.tls` (`ca`, `cert` paths relative to the file; `key` by reference: a file, or an environment
 * variable holding the PEM itself); `rejectUnauthorized` only from the file. Every file is read bounded and
 * checked to be PEM (protocol's mqtt/tls.ts); a certificate without its key, or TLS with a broker URL that
 * is not TLS, is refused. The file's `broker.clientId`, `keepaliveSeconds` and `reconnectPeriodMs` apply.
 */
import { resolve } from 'node:path';
import { AkbError, type LinkConfig } from '@akb/protocol';
import { checkPem, checkTlsPair, checkTlsUrl, readPemFile, type MqttTlsOptions } from '@akb/protocol/mqtt';
import { resolveSecret, type LoadedEdgeConfig } from './config-file.js';

export const LINK_CHOICES = ['mqtt', 'emulated', 'serial', 'sdr-udp'] as const;
export type LinkChoice = (typeof LINK_CHOICES)[number];

/** The flags that the file may supply; undefined when not given on the command line. */
export interface EdgeFlags {
  device?: string | undefined;
  broker?: string | undefined;
  profile?: string | undefined;
  models?: string | undefined;
  mqtt5?: boolean | undefined;
  username?: string | undefined;
  passwordEnv?: string | undefined;
  link?: LinkChoice | undefined;
  snrDb?: number | undefined;
  seed?: number | undefined;
  telemetryMs?: number | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

export interface EdgeSettings {
  device: string | undefined;
  broker: string;
  profile: string | undefined;
  models: string | undefined;
  protocolVersion: 4 | 5;
  username: string | undefined;
  password: string | undefined;
  /** The link section to open. */
  link: LinkConfig;
  seed: number;
  telemetryMs: number;
  /** TLS material (PEM contents), or undefined for none. */
  tls: MqttTlsOptions | undefined;
  /** The file's broker.clientId (default: the device id). */
  clientId: string | undefined;
  keepaliveSeconds: number;
  reconnectPeriodMs: number;
}

const DEFAULT_BROKER = 'mqtt://127.0.0.1:1883';

export async function edgeSettings(flags: EdgeFlags, file: LoadedEdgeConfig | undefined, env: NodeJS.ProcessEnv = process.env): Promise<EdgeSettings> {
  const config = file?.config;
  const fromEnv = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]); // an empty variable is unset
  const device = flags.device ?? fromEnv('AKB_DEVICE_ID') ?? config?.deviceId;
  let password: string | undefined;
  if (flags.passwordEnv !== undefined) password = env[flags.passwordEnv];
  else if (config?.broker.password !== undefined) password = await resolveSecret(config.broker.password, file!.dir, env);
  const link = linkFor(flags, config?.link, file?.path);
  const seed = flags.seed ?? (link.driver === 'emulated' ? link.seed : undefined) ?? 1;
  const broker = flags.broker ?? fromEnv('AKB_BROKER') ?? config?.broker.url ?? DEFAULT_BROKER;
  return {
    device,
    broker,
    profile: flags.profile ?? fromEnv('AKB_PROFILE') ?? config?.profile,
    models: flags.models ?? fromEnv('AKB_MODELS') ?? file?.models,
    protocolVersion: flags.mqtt5 !== undefined ? (flags.mqtt5 ? 5 : 4) : (config?.broker.protocolVersion ?? 4),
    username: flags.username ?? config?.broker.username ?? (password !== undefined ? device : undefined),
    password,
    link,
    seed,
    telemetryMs: flags.telemetryMs ?? config?.telemetry.intervalMs ?? 1000,
    tls: await tlsFor(broker, flags, file, fromEnv, env),
    clientId: config?.broker.clientId,
    keepaliveSeconds: config?.broker.keepaliveSeconds ?? 30,
    reconnectPeriodMs: config?.broker.reconnectPeriodMs ?? 1000,
  };
}

/** The TLS material, each part flag > environment > file (module comment); undefined when none is named. */
async function tlsFor(
  broker: string,
  flags: EdgeFlags,
  file: LoadedEdgeConfig | undefined,
  fromEnv: (name: string) => string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<MqttTlsOptions | undefined> {
  const section = file?.config.broker.tls;
  const inFile = (path: string | undefined): string | undefined => (path === undefined ? undefined : resolve(file!.dir, path));
  const ca = flags.ca ?? fromEnv('AKB_TLS_CA') ?? inFile(section?.ca);
  const cert = flags.cert ?? fromEnv('AKB_TLS_CERT') ?? inFile(section?.cert);
  const keyPath = flags.key ?? fromEnv('AKB_TLS_KEY') ?? (section?.key !== undefined && 'file' in section.key ? inFile(section.key.file) : undefined);
  const keyEnv = keyPath === undefined && section?.key !== undefined && 'env' in section.key ? section.key.env : undefined;
  if (section === undefined && ca === undefined && cert === undefined && keyPath === undefined) return undefined;
  checkTlsPair(cert, keyPath ?? keyEnv, 'a client certificate (--cert, AKB_TLS_CERT or broker.tls.cert)', 'its key (--key, AKB_TLS_KEY or broker.tls.key)');
  checkTlsUrl(broker, 'TLS settings (--ca/--cert/--key, AKB_TLS_*, or the configuration\'s broker.tls)');
  const tls: MqttTlsOptions = { rejectUnauthorized: section?.rejectUnauthorized ?? true };
  if (ca !== undefined) tls.ca = await readPemFile(ca, 'certificate', 'CA certificate');
  if (cert !== undefined) tls.cert = await readPemFile(cert, 'certificate', 'client certificate');
  if (keyPath !== undefined) tls.key = await readPemFile(keyPath, 'key', 'client key');
  else if (keyEnv !== undefined) {
    const pem = env[keyEnv];
    if (pem === undefined || pem === '') {
      throw new AkbError('CONFIG_INVALID', `the configuration's client key is in the environment variable ${keyEnv}, which is not set`, { hint: `set ${keyEnv} to the PEM key`, exitCode: 2 });
    }
    tls.key = checkPem(pem, 'key', `the environment variable ${keyEnv}`);
  }
  return tls;
}

function linkFor(flags: EdgeFlags, section: LinkConfig | undefined, path: string | undefined): LinkConfig {
  const choice = flags.link ?? section?.driver ?? 'mqtt';
  let link: LinkConfig;
  if (section !== undefined && section.driver === choice) link = section;
  else if (choice === 'mqtt') link = { driver: 'mqtt', mtu: 1024 };
  else if (choice === 'emulated') link = { driver: 'emulated', where: 'in-process', channel: 'awgn', snrDb: 10 };
  else {
    throw new AkbError('BAD_OPTION', `--link ${choice} takes its settings from the configuration file's link section${path ? `, and ${path} has a ${section?.driver ?? 'default'} one` : ''}`, {
      hint: choice === 'serial'
        ? 'pass --config <edge.json> with "link": {"driver": "serial", "path": "/dev/ttyUSB0", "modem": {"kind": "rn2483", "sf": 7}}'
        : 'pass --config <edge.json> with "link": {"driver": "sdr-udp", "port": 5000}',
      exitCode: 2,
    });
  }
  if (link.driver === 'emulated') {
    link = { ...link, ...(flags.snrDb !== undefined ? { snrDb: flags.snrDb } : {}), ...(flags.seed !== undefined ? { seed: flags.seed } : {}) };
  }
  return link;
}

/** The driver the section opens, as the birth's `link:<driver>` capability names it (the emulator service is the mqtt driver). */
export function linkDriverName(link: LinkConfig): string {
  return link.driver === 'emulated' && link.where === 'service' ? 'mqtt' : link.driver;
}
