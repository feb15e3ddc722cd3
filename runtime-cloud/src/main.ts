#!/usr/bin/env node
/**
 * `akb-cloud`: the cloud service. Runs until SIGINT or SIGTERM.
 *
 *   akb-cloud --broker mqtt://host:1883                          fleet registry only
 *   akb-cloud --models models/zoo --set akb-k256 [--references ./originals] [--workers 2] [--shared]
 *   akb-cloud --http 8080 [--http-host 127.0.0.1]                 also the web dashboard (dashboard/server.ts)
 *   akb-cloud --broker mqtts://host:8883 --ca ca.crt [--cert akb-cloud.crt --key akb-cloud.key]   over TLS
 *
 * `--fleet-key <file>` (the fleet's Ed25519 .key, as akb package and akb deploy take it) signs the KB announce
 * and the entry responses on each device's kb/res (protocol 1.4, "Signed messages"); without it they go
 * unsigned, and an edge refuses them unless it is configured to accept unsigned KB updates.
 *
 * TLS files are read bounded and checked to be PEM (protocol's mqtt/tls.ts); a certificate without its key
 * or TLS files with a broker URL that is not TLS are refused (exit 2).
 *
 * `--workers n` runs n decode lanes (worker threads) in this process. To spread decoding over several
 * processes or machines, start one akb-cloud per worker with `--shared`: the broker then hands each frame
 * to one of them (a shared subscription, `$share/<group>/...`; Mosquitto, EMQX, HiveMQ and VerneMQ have
 * it; the embedded aedes broker does not, so keep the default `--no-shared` there). Where the broker has
 * no shared subscriptions (NATS's MQTT interface, aedes), start n workers with `--partition 0/n` …
 * `--partition <n-1>/n`: each receives every device's traffic and serves the devices a rendezvous hash
 * gives it (partition.ts); `--partition` and `--shared` are not combined.
 *
 * `--broker` takes one URL or several, comma-separated (a cluster's nodes, or standby brokers): tried in
 * order, failed over to in turn (protocol's mqtt/brokers.ts).
 *
 * Output: one line per finished image on stdout (image-line.ts; `--json`: JSON lines); everything else
 * (the start line with --json, shutdown, logs) on stderr.
 *
 * Shutdown: the first SIGINT or SIGTERM stops the service (tiles not yet started are dropped, open
 * images are finished as `stopped`) and exits 0; if that takes longer than --shutdown-timeout (a broker
 * that is gone or silent keeps feedback and the disconnect waiting), it exits 0 anyway, saying so.
 * A second signal ends the process at once by that signal's default action (the shell sees 130 after
 * SIGINT, 143 after SIGTERM): not process.exit, whose teardown aborts the process ("terminate called
 * after throwing an instance of 'Napi::Error'") when onnxruntime-node is mid-run in a decode lane.
 * Handlers are installed before the models load, so a signal during start-up is honoured too.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { AkbError, describeError } from '@akb/protocol';
import { TLS_FLAGS, loadTlsFlags, parseBrokerUrls } from '@akb/protocol/mqtt';
import { CloudService } from './control/service.js';
import { folderReferences } from './decode/references.js';
import { DEFAULT_IMAGE_LIMITS } from './decode/limits.js';
import { formatImageLine } from './image-line.js';
import { DeviceScope } from './scope.js';
import { Partition } from './partition.js';
import { dashboardArgs, startCloudDashboard } from './dashboard/cli.js';
import { TELEMETRY_FLAGS, checkTelemetryArgs, telemetryFromArgs } from './telemetry/cli.js';

const MB = 2 ** 20;

/** Resolves with the first SIGINT/SIGTERM; a second one ends the process at once (its default action). */
function signals(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen: NodeJS.Signals | undefined;
    const on = (signal: NodeJS.Signals): void => {
      if (seen === undefined) {
        seen = signal;
        resolve(signal);
        return;
      }
      process.stderr.write(`akb-cloud: ${signal} again: exiting without finishing the shutdown\n`);
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
      process.kill(process.pid, signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** True when `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

const positiveInt = (name: string, v: number): void => {
  if (!(Number.isSafeInteger(v) && v >= 1)) throw new Error(`--${name} must be a positive integer`);
};

async function main(): Promise<number> {
  const stopSignal = signals();
  const d = DEFAULT_IMAGE_LIMITS;
  const args = await yargs(hideBin(process.argv))
    .scriptName('akb-cloud')
    .usage('$0 [--broker <url>] [--models <zoo> --set <name>...]\n\nThe akb cloud service: fleet registry, source KB, decoders, feedback and intents.\nPrints one line per finished image on stdout (--json: JSON lines).')
    .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
    .option('client-id', { type: 'string', describe: 'MQTT client id (default akb-cloud-<pid>)' })
    .option('persistent-session', { type: 'boolean', default: false, describe: 'keep the MQTT session (clean session off; needs --client-id): the broker keeps the subscriptions and queues QoS 1 messages while akb-cloud or the broker is down' })
    .option('username', { type: 'string', describe: 'MQTT user name (with `akb topics --acl`: akb-cloud)' })
    .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
    .option('mqtt5', { type: 'boolean', default: false })
    .options(TLS_FLAGS)
    .option('models', { type: 'string', default: 'models/zoo', describe: 'model zoo folder (sets are read from its sibling sets/)' })
    .option('set', { type: 'string', array: true, describe: 'model set(s) to decode (models/sets/<name>.json); none: fleet registry only' })
    .option('kb', { type: 'string', describe: 'source KB snapshot folder to host (default: the AKB set\'s KB)' })
    .option('fleet-key', { type: 'string', describe: 'the fleet key (Ed25519 PKCS#8 PEM .key): signs the KB announce and entry responses' })
    .option('references', { type: 'string', describe: 'folder of original images, by the names in image-meta: PSNR and reward in feedback' })
    .option('workers', { type: 'number', default: 1, describe: 'decode lanes (worker threads) in this process' })
    .option('shared', { type: 'boolean', default: false, describe: 'receive frames through a shared subscription (several akb-cloud processes split the work; not on aedes)' })
    .option('group', { type: 'string', default: 'cloud', describe: 'shared-subscription group' })
    .option('devices', { type: 'string', array: true, describe: 'devices served: comma-separated ids and/or patterns (cam-01,cam-02,lab-*); default: all devices' })
    .option('partition', { type: 'string', describe: 'serve partition <i>/<n> of the devices (worker i of n, from 0; a rendezvous hash of the device id): for brokers without shared subscriptions, e.g. NATS' })
    .option('clients', { type: 'string', array: true, describe: 'with --devices: the tools (by `from`) answered on cloud/ops/req, and on cloud/req besides the devices; default: none' })
    .option('max-image-side', { type: 'number', default: d.maxSide, describe: 'widest or tallest image a meta may announce, pixels' })
    .option('max-image-pixels', { type: 'number', default: d.maxPixels, describe: 'most pixels of one image' })
    .option('max-tiles', { type: 'number', default: d.maxTiles, describe: 'most tiles of one image' })
    .option('max-open-images', { type: 'number', default: d.maxOpenImagesPerDevice, describe: 'incomplete images per device; a newer one pushes out the oldest' })
    .option('max-open-mb', { type: 'number', default: d.maxOpenBytesPerDevice / MB, describe: 'MiB of incomplete images per device (12 bytes a pixel)' })
    .option('max-total-open-mb', { type: 'number', default: d.maxOpenBytes / MB, describe: 'MiB of incomplete images of all devices' })
    .option('json', { type: 'boolean', default: false, describe: 'print each finished image as a JSON line' })
    .option('http', { type: 'number', describe: 'serve the web dashboard on this TCP port (0: a free one; the URL is on the start line)' })
    .option('http-host', { type: 'string', default: '127.0.0.1', describe: 'address the dashboard binds (it has no authentication: see the README before exposing it)' })
    .option('http-allow-host', { type: 'string', array: true, describe: 'host names the dashboard answers besides IP addresses and localhost (behind a reverse proxy)' })
    .options(TELEMETRY_FLAGS)
    .option('shutdown-timeout', { type: 'number', default: 3, describe: 'seconds the shutdown may take before akb-cloud exits anyway' })
    .check((a) => {
      if (!(Number.isInteger(a.workers) && a.workers >= 1 && a.workers <= 64)) throw new Error('--workers must be an integer from 1 to 64');
      for (const k of ['max-image-side', 'max-image-pixels', 'max-tiles', 'max-open-images', 'max-open-mb', 'max-total-open-mb'] as const) positiveInt(k, a[k]);
      const t = a['shutdown-timeout'];
      if (!(t > 0 && t <= 3600)) throw new Error('--shutdown-timeout must be in (0, 3600] seconds');
      dashboardArgs(a);
      checkTelemetryArgs(a);
      if (a.partition !== undefined) {
        Partition.parse(a.partition);
        if (a.shared) throw new Error('--partition and --shared split the work two ways: choose one (--shared where the broker has shared subscriptions)');
      }
      parseBrokerUrls(a.broker);
      if (a.persistentSession && a.clientId === undefined) throw new Error('--persistent-session needs --client-id (the broker finds the session by it)');
      return true;
    })
    .strict()
    .fail((message, error) => {
      // One line and exit 2 for arguments the user must fix, as `akb` does.
      throw new AkbError('USAGE', message || (error instanceof Error ? error.message : 'invalid arguments'), { hint: 'see akb-cloud --help', exitCode: 2 });
    })
    .parseAsync();
  const named = args.devices === undefined ? DeviceScope.all() : DeviceScope.parse(args.devices);
  const scope = args.partition === undefined ? named : named.withPartition(Partition.parse(args.partition));
  const clients = args.clients === undefined ? undefined : DeviceScope.parse(args.clients);
  const sets = args.set ?? [];
  const telemetry = await telemetryFromArgs(args);
  const tls = await loadTlsFlags(args.broker, args);
  const fleet = args.fleetKey === undefined ? undefined : await (await import('./control/fleet-key.js')).loadFleetKey(args.fleetKey);
  const starting = CloudService.start({
    ...(telemetry ? { telemetry } : {}),
    brokerUrl: args.broker,
    clientId: args.clientId,
    persistentSession: args.persistentSession,
    username: args.username,
    password: args.passwordEnv ? process.env[args.passwordEnv] : undefined,
    protocolVersion: args.mqtt5 ? 5 : 4,
    ...(tls !== undefined ? { tls } : {}),
    scope,
    ...(clients ? { clients } : {}),
    ...(sets.length > 0 ? { models: { zoo: args.models, sets } } : {}),
    ...(args.kb !== undefined ? { kbDir: args.kb } : {}),
    ...(fleet ? { fleetKey: fleet.key } : {}),
    ...(args.references !== undefined ? { references: folderReferences(args.references) } : {}),
    decoder: {
      workers: args.workers,
      shared: args.shared,
      group: args.group,
      limits: {
        maxSide: args.maxImageSide,
        maxPixels: args.maxImagePixels,
        maxTiles: args.maxTiles,
        maxOpenImagesPerDevice: args.maxOpenImages,
        maxOpenBytesPerDevice: args.maxOpenMb * MB,
        maxOpenBytes: args.maxTotalOpenMb * MB,
      },
    },
  });
  const first = await Promise.race([starting.then((service) => ({ service })), stopSignal.then((signal) => ({ signal }))]);
  if ('signal' in first) {
    process.stderr.write(`akb-cloud: ${first.signal} before the service started: exiting\n`);
    return 0;
  }
  const service = first.service;
  service.decoder?.images.on((r) => void process.stdout.write(`${formatImageLine(r, args.json)}\n`));
  const dashboard = await startCloudDashboard(service, args);
  const decoding = sets.length > 0 ? `; decoding ${sets.join(', ')} with ${args.workers} worker(s)${args.shared ? ` (shared group ${args.group})` : ''}` : '';
  const started = `akb-cloud: watching ${scope.describe()} at ${args.broker}${decoding}${dashboard ? `; dashboard at ${dashboard.url}` : ''}${telemetry ? `; telemetry in ${telemetry.store.location}` : ''}\n`;
  if (args.json) process.stderr.write(started);
  else process.stdout.write(started);
  const signal = await stopSignal;
  process.stderr.write(`akb-cloud: ${signal}: stopping (send it again to exit at once)\n`);
  await dashboard?.close();
  if (!(await within(service.stop(), args.shutdownTimeout * 1000))) {
    process.stderr.write(`akb-cloud: the shutdown took more than ${args.shutdownTimeout} s (is the broker gone?): exiting\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const { lines, exitCode } = describeError(e, 'akb-cloud', Boolean(process.env.AKB_DEBUG));
    for (const line of lines) process.stderr.write(`${line}\n`);
    process.exit(exitCode);
  },
);
