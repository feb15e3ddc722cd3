/**
 * `akb fleet provision <id>`: a device's broker credentials and the lines to give the broker.
 *
 * In `--out` (default `fleet/<id>`) it writes: `password` (random, mode 0600), `<id>.key` (EC P-256,
 * mode 0600), `<id>.crt` (signed by the fleet CA, common name = the id, clientAuth), `ca.crt` (the fleet CA's
 * certificate, to verify the broker), `mosquitto-passwd.txt` (the id's `$7$` password-file line, 0600) and,
 * for a device, `edge.json` (the edge-config schema: device id, broker URL, user name, password and
 * broker.tls by reference to those files, which akb-edge --config resolves against its folder). It prints
 * the password-file line and the broker settings that use them.
 *
 * The fleet CA lives in `--ca-dir` (default `fleet-ca`): made on first use (ca.key 0600, ca.crt), used as
 * found afterwards, never overwritten. The id must be a user name every broker takes and a safe topic level
 * (checkProvisionId). Re-provisioning: an `--out` folder that already holds any of those files is refused
 * unless `--force`, which replaces them all: a new password (replace the id's line in the broker's password
 * file) and a new key and certificate. The old certificate stays valid until it expires; nothing here
 * revokes it (Mosquitto's `crlfile` can).
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AkbError } from '@akb/protocol';
import { defineCommand, defineGroup } from './define.js';
import { emit } from '../run-command.js';
import {
  checkProvisionId,
  ensureFleetCa,
  issueCertificate,
  mosquittoPasswordLine,
  newPrivateKey,
  pathExists,
  randomPassword,
  readCaCert,
  writeNew,
} from './fleet-credentials.js';

export interface ProvisionOptions {
  id: string;
  caDir: string;
  out: string;
  /** The broker URL written into edge.json. */
  broker: string;
  /** Not a device (the cloud, a tool, a gateway): no edge.json, and no reserved-name check. */
  service?: boolean;
  /** A server certificate (the broker's) for these host names or IP addresses: only the key and certificate. */
  serverNames?: readonly string[];
  /** User names of other roles, which a device id may not take. */
  reserved?: readonly string[];
  force?: boolean;
}

export interface Provisioned {
  id: string;
  out: string;
  files: { key: string; cert: string; ca: string; password?: string; passwdLine?: string; edgeConfig?: string };
  /** The line for Mosquitto's password file (none for a server certificate). */
  passwordLine?: string;
  ca: { dir: string; cert: string; created: boolean };
}

const fileNames = (id: string) => ({
  password: 'password',
  key: `${id}.key`,
  cert: `${id}.crt`,
  ca: 'ca.crt',
  passwdLine: 'mosquitto-passwd.txt',
  edgeConfig: 'edge.json',
});

/** Makes the credentials of `id` (see the module comment); refuses to replace any file unless `force`. */
export async function provision(o: ProvisionOptions): Promise<Provisioned> {
  const server = o.serverNames !== undefined && o.serverNames.length > 0;
  const device = o.service !== true && !server;
  const id = checkProvisionId(o.id, device ? (o.reserved ?? []) : []);
  const out = resolve(o.out);
  const names = fileNames(id);
  const paths = Object.fromEntries(Object.entries(names).map(([k, v]) => [k, join(out, v)])) as Record<keyof typeof names, string>;
  const wanted = (Object.keys(names) as (keyof typeof names)[]).filter((k) =>
    k === 'edgeConfig' ? device : k === 'password' || k === 'passwdLine' ? !server : true);
  const present = [];
  for (const k of wanted) if (await pathExists(paths[k])) present.push(names[k]);
  if (present.length > 0 && o.force !== true) {
    throw new AkbError('ALREADY_PROVISIONED', `${out} already holds ${present.join(', ')} of ${id}`, {
      hint: 'pass --force to replace its password, key and certificate (then replace its line in the broker password file), or another --out',
      exitCode: 2,
    });
  }
  const ca = await ensureFleetCa(resolve(o.caDir));
  const caPem = await readCaCert(ca);
  await mkdir(out, { recursive: true, mode: 0o700 });
  const replace = o.force === true;
  await writeNew(paths.key, newPrivateKey(), 0o600, replace);
  await writeNew(paths.ca, caPem, 0o644, replace);
  await issueCertificate(ca, { commonName: id, certPath: paths.cert, keyPath: paths.key, ...(server ? { serverNames: o.serverNames } : {}) });
  await chmod(paths.cert, 0o644);
  const files: Provisioned['files'] = { key: paths.key, cert: paths.cert, ca: paths.ca };
  let passwordLine: string | undefined;
  if (!server) {
    const password = randomPassword();
    passwordLine = await mosquittoPasswordLine(id, password);
    await writeNew(paths.password, `${password}\n`, 0o600, replace);
    await writeNew(paths.passwdLine, `${passwordLine}\n`, 0o600, replace);
    files.password = paths.password;
    files.passwdLine = paths.passwdLine;
  }
  if (device) {
    await writeNew(paths.edgeConfig, `${JSON.stringify(await edgeConfigFor(id, o.broker, names), null, 2)}\n`, 0o644, replace);
    files.edgeConfig = paths.edgeConfig;
  }
  return { id, out, files, ...(passwordLine !== undefined ? { passwordLine } : {}), ca: { dir: ca.dir, cert: ca.cert, created: ca.created } };
}

/** The device's edge configuration, validated by the edge-config schema before it is written. */
async function edgeConfigFor(id: string, broker: string, names: ReturnType<typeof fileNames>): Promise<object> {
  const { validateMessage } = await import('@akb/protocol');
  const config = {
    deviceId: id,
    broker: {
      url: broker,
      username: id,
      password: { file: names.password },
      tls: { ca: names.ca, cert: names.cert, key: { file: names.key } },
    },
  };
  validateMessage('edge-config', config);
  return config;
}

/** The lines to add to the broker, for the output. */
export function brokerLines(p: Provisioned): string[] {
  const password = p.passwordLine === undefined
    ? [`# ${p.id}: a server certificate; give mosquitto certfile ${p.files.cert} and keyfile ${p.files.key}`]
    : [`# ${p.id}: add this line to the broker's password_file (replacing any line for ${p.id}), then reload mosquitto:`, p.passwordLine];
  return [
    ...password,
    '# The TLS listener that uses the fleet CA (once per broker; docs/security.md):',
    '#   listener 8883',
    `#   cafile ${p.ca.cert}`,
    '#   certfile /etc/mosquitto/akb/broker.crt     (akb fleet provision broker --server-name <host name or IP>)',
    '#   keyfile /etc/mosquitto/akb/broker.key',
    '#   require_certificate true   and   use_identity_as_username true   (certificate login: the common name is the user)',
    '#   or password_file /etc/mosquitto/akb/passwords                       (password login over TLS)',
    '#   acl_file /etc/mosquitto/akb/acl                                    (akb topics --acl --tool <user>)',
  ];
}

const provisionCommand = defineCommand({
  command: 'provision <id>',
  describe: "Make a device's broker credentials (password, key, certificate signed by the fleet CA, edge.json) and print the broker lines",
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'device id: 1-64 letters, digits, "-" or "_"' })
      .option('ca-dir', { type: 'string', default: 'fleet-ca', describe: 'folder of the fleet CA (ca.crt, ca.key): made on first use, never overwritten' })
      .option('out', { type: 'string', describe: 'folder for the credentials (default fleet/<id>)' })
      .option('broker', { type: 'string', default: 'mqtts://127.0.0.1:8883', describe: 'broker URL written into edge.json' })
      .option('service', { type: 'boolean', default: false, describe: 'credentials of the cloud, a tool or a gateway: no edge.json' })
      .option('server-name', { type: 'string', array: true, describe: "a server certificate (the broker's) for this host name or IP address (repeatable): key and certificate only" })
      .option('cloud-user', { type: 'string', default: 'akb-cloud', describe: "the cloud's user name, which no device may take" })
      .option('tool', { type: 'string', array: true, describe: 'user names of tools, which no device may take' })
      .option('gateway', { type: 'string', array: true, describe: 'user names of gateways, which no device may take' })
      .option('force', { type: 'boolean', default: false, describe: 'replace the credentials --out holds (new password, key and certificate)' })
      .option('json', { type: 'boolean', default: false })
      .epilog('Re-provisioning is refused unless --force; the old certificate then stays valid until it expires (revoke it with a CRL).'),
  run: async (args, io) => {
    const id = String(args.id);
    const made = await provision({
      id,
      caDir: args.caDir,
      out: args.out ?? join('fleet', id),
      broker: args.broker,
      service: args.service,
      ...(args.serverName !== undefined ? { serverNames: args.serverName } : {}),
      reserved: [args.cloudUser, ...(args.tool ?? []), ...(args.gateway ?? [])],
      force: args.force,
    });
    emit(io, args.json, made, () => [
      ...(made.ca.created ? [`fleet CA made in ${made.ca.dir} (keep ca.key secret and off the broker)`] : []),
      `provisioned ${made.id} in ${made.out}: ${Object.values(made.files).map((f) => f.slice(made.out.length + 1)).join(', ')}`,
      ...(made.files.edgeConfig ? [`run the device with: akb-edge --config ${made.files.edgeConfig}`] : []),
      '',
      ...brokerLines(made),
    ]);
  },
});

export const fleetCommand = defineGroup('fleet', 'Fleet credentials: provision a device for an authenticated broker', [provisionCommand]);
