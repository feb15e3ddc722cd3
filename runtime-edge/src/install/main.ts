#!/usr/bin/env node
/**
 * `akb-agent`: the install agent on a board (not the MQTT control plane, which is akb-edge's EdgeAgent).
 * - `akb-agent install <bundle>`: recovers, then installs into the inactive slot, verifies, switches,
 *   health-checks the new runtime (`<slot>/bin/akb-edge --probe`) and rolls back on failure; every step
 *   is a line on stdout and an "updating" status on the device's status topic.
 * - `akb-agent boot`: the recovery alone, for systemd's ExecStartPre.
 * - `akb-agent status [--json]`: what is installed.
 * - `akb-agent receive --port <tty> [--baud N]`: waits for one bundle sent by `akb flash` (receive.ts),
 *   installs it as `install` does and answers the outcome over the line.
 * - `akb-agent ota --broker <url> --device <id>`: receives bundles over MQTT (`akb deploy`) and installs them
 *   the same way (ota-run.ts); `--once` exits after the first result.
 * Defaults come from the board's profile (`--profile`, else AKB_PROFILE, which a slot's launcher sets,
 * else detected): the root is its `install.root`; trusted keys are /etc/akb/keys/*.pub.
 * TLS (mqtts://): `--ca/--cert/--key`, else AKB_TLS_CA/AKB_TLS_CERT/AKB_TLS_KEY, for the status reports
 * and the probe (tls-env.ts).
 * Exit codes: 0 committed (or nothing to do), 3 refused, 4 rolled back, 1 or 2 for errors (one line).
 * This file is the entry `akb package` bundles as app/akb-agent.mjs (runtime-edge/dist/install/main.js).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { AkbError, TLS_FLAGS, describeError } from '@akb/protocol';
import { DEFAULT_HEALTH_TIMEOUT_S } from './health.js';

const DEFAULT_TRUST = '/etc/akb/keys';

async function parseArgs() {
  const common = {
    root: { type: 'string', describe: "install root (default: the profile's install.root, e.g. /opt/akb)" },
    profile: { type: 'string', default: process.env.AKB_PROFILE, describe: 'device profile id or profile file (env AKB_PROFILE); default: detected' },
    trust: { type: 'string', array: true, describe: `trusted public key file or folder of *.pub, repeatable (default ${DEFAULT_TRUST})` },
    json: { type: 'boolean', default: false, describe: 'print JSON' },
    ca: { ...TLS_FLAGS.ca, describe: `${TLS_FLAGS.ca.describe} (env AKB_TLS_CA)` },
    cert: { ...TLS_FLAGS.cert, describe: `${TLS_FLAGS.cert.describe} (env AKB_TLS_CERT)` },
    key: { ...TLS_FLAGS.key, describe: `${TLS_FLAGS.key.describe} (env AKB_TLS_KEY)` },
  } as const;
  return yargs(hideBin(process.argv))
    .scriptName('akb-agent')
    .usage('$0 <install|boot|status|receive|ota> [options]\n\nThe akb install agent: two slots, verify before switch, health check, rollback.')
    .command('install <bundle>', 'install a bundle into the inactive slot, health-check it, roll back on failure', (y) =>
      y
        .positional('bundle', { type: 'string', demandOption: true, describe: 'the .akb file' })
        .option('force', { type: 'boolean', default: false, describe: 'install even an older (or the same) version' })
        .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker for status and the probe (env AKB_BROKER)' })
        .option('device', { type: 'string', default: process.env.AKB_DEVICE_ID, describe: 'device id (env AKB_DEVICE_ID)' })
        .option('health-timeout', { type: 'number', default: DEFAULT_HEALTH_TIMEOUT_S, describe: "the probe's time limit, seconds" }),
    )
    .command('boot', 'recover after a crash or reboot: roll back a slot left on trial, repair the state (systemd ExecStartPre)', (y) =>
      y.option('device', { type: 'string', default: process.env.AKB_DEVICE_ID, describe: 'device id, for the status topic (env AKB_DEVICE_ID)' })
        .option('broker', { type: 'string', default: process.env.AKB_BROKER, describe: 'MQTT broker for the "recovered" status (env AKB_BROKER)' }),
    )
    .command('receive', 'wait for one bundle sent by `akb flash` over a serial port, install it, answer the outcome', (y) =>
      y
        .option('port', { type: 'string', demandOption: true, describe: 'the serial port (tty) akb flash sends on' })
        .option('baud', { type: 'number', default: 921600, describe: 'line rate, bits/s (8N1)' })
        .option('data', { type: 'string', describe: 'folder for the partial transfer (default <root>/incoming)' })
        .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker for status and the probe (env AKB_BROKER)' })
        .option('device', { type: 'string', default: process.env.AKB_DEVICE_ID, describe: 'device id (env AKB_DEVICE_ID)' })
        .option('health-timeout', { type: 'number', default: DEFAULT_HEALTH_TIMEOUT_S, describe: "the probe's time limit, seconds" }),
    )
    .command('status', 'what is installed: the active slot, the last known good, each slot\'s bundle')
    .command('ota', 'receive bundles over MQTT (akb deploy): fetch, verify, install, health-check, report', (y) =>
      y.option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker (env AKB_BROKER)' })
        .option('device', { type: 'string', default: process.env.AKB_DEVICE_ID, describe: 'device id (env AKB_DEVICE_ID)' })
        .option('max-size', { type: 'number', describe: 'largest bundle taken, bytes (default 2 GiB)' })
        .option('health-timeout', { type: 'number', default: DEFAULT_HEALTH_TIMEOUT_S, describe: "the probe's time limit, seconds" })
        .option('once', { type: 'boolean', default: false, describe: 'exit after the first result (0 installed, 4 not)' }),
    )
    .options(common)
    .demandCommand(1, 'name a command: install, boot, status or ota')
    .strict()
    .parseAsync();
}

type Args = Awaited<ReturnType<typeof parseArgs>>;

/** The root and profile id: given, else from the profile (given, AKB_PROFILE, or detected). */
async function target(args: Args): Promise<{ root: string; profile: string }> {
  const { resolveEdgeProfile } = await import('../options.js');
  const { profile } = await resolveEdgeProfile(args.profile);
  return { root: args.root ?? profile.install.root, profile: profile.id };
}

async function main(): Promise<number> {
  const args = await parseArgs();
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const run = await import('./run.js');
  const command = String(args._[0]);
  const { root, profile } = await target(args);
  if (command === 'status') {
    const status = await run.slotStatus(root);
    if (args.json) out(JSON.stringify(status));
    else for (const line of run.describeSlotStatus(status)) out(line);
    return 0;
  }
  const device = typeof args.device === 'string' && args.device ? args.device : undefined;
  const broker = typeof args.broker === 'string' && args.broker ? args.broker : undefined;
  const trust = args.trust?.map(String) ?? [DEFAULT_TRUST];
  // Checked once; the reporter and the probe read the files from AKB_TLS_* (tls-env.ts).
  if (broker) await (await import('./tls-env.js')).exportTlsFiles(broker, args, process.env);
  if (command === 'boot') {
    const result = await run.bootSlots({ root, profile, trust, deviceId: device ?? 'akb-agent', ...(device && broker ? { brokerUrl: broker } : {}), out });
    out(args.json ? JSON.stringify(result) : `akb-agent: ${result.message}`);
    return 0;
  }
  if (command === 'ota') {
    if (!device || !broker) throw new AkbError('BAD_OPTION', 'akb-agent ota needs a device id and a broker', { hint: 'pass --device <id> and --broker <url>', exitCode: 2 });
    const { runOta } = await import('./ota-run.js');
    const maxSize = args.maxSize === undefined ? undefined : Number(args.maxSize);
    return runOta({ root, profile, trust, deviceId: device, brokerUrl: broker, healthTimeoutS: Number(args.healthTimeout), once: Boolean(args.once), out, ...(maxSize !== undefined ? { maxSize } : {}) });
  }
  if (!device) throw new AkbError('BAD_OPTION', 'no device id for the health check', { hint: 'pass --device <id> or set AKB_DEVICE_ID', exitCode: 2 });
  if (command === 'receive') {
    const { receiveOverSerial } = await import('./receive.js');
    const a = args as Args & { port?: string; baud?: number; data?: string; healthTimeout?: number };
    const outcome = await receiveOverSerial({ root, profile, trust, deviceId: device, brokerUrl: broker, healthTimeoutS: Number(a.healthTimeout), port: String(a.port), baud: Number(a.baud), ...(a.data ? { dataDir: a.data } : {}), out });
    out(args.json ? JSON.stringify(outcome) : `akb-agent: ${outcome.status}: ${outcome.message}`);
    return outcome.status === 'committed' ? 0 : outcome.status === 'refused' ? 3 : 4;
  }
  const result = await run.installBundle(String(args.bundle), {
    root, profile, trust, deviceId: device, brokerUrl: broker, healthTimeoutS: Number(args.healthTimeout), force: Boolean(args.force), out,
  });
  if (args.json) out(JSON.stringify(result));
  else (result.status === 'committed' ? out : (l: string) => void process.stderr.write(`${l}\n`))(`akb-agent: ${result.message}`);
  return result.status === 'committed' ? 0 : result.status === 'refused' ? 3 : 4;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const { lines, exitCode } = describeError(e, 'akb-agent', Boolean(process.env.AKB_DEBUG));
    for (const line of lines) process.stderr.write(`${line}\n`);
    process.exit(exitCode);
  },
);
