/**
 * `akb install <bundle> --root <dir>`: runs the board's install agent (the same code as `akb-agent install`,
 * from @akb/edge/install) on this machine, a folder standing for the board: recovery, verify, write the
 * inactive slot, switch, health check (the new slot's own `bin/akb-edge --probe`), roll back on failure.
 * Without --broker an embedded aedes broker on a free loopback port serves the probe and the status
 * events. The profile defaults to the bundle's target when it names one only. `--no-probe` replaces the
 * health check by a pass, for a bundle whose runtime cannot start here (another architecture).
 * With `--broker mqtts://…`, `--ca/--cert/--key` are checked once and handed to the agent as akb-agent takes
 * them, as absolute AKB_TLS_CA/AKB_TLS_CERT/AKB_TLS_KEY paths (runtime-edge/src/install/tls-env.ts): its
 * status reporter reads them and the probe it starts inherits them. They are set for the install only.
 * Exit codes as akb-agent: 0 committed, 3 refused, 4 rolled back.
 */
import { resolve } from 'node:path';
import { AkbError } from '@akb/protocol';
import { defineCommand } from './define.js';
import { TLS_OPTIONS } from './tls-flags.js';

const DEFAULT_TRUST = '/etc/akb/keys';

/** The bundle's only target profile (its signed manifest is read, not yet trusted: the agent verifies it). */
async function soleTarget(bundle: string): Promise<string> {
  const { readBundle } = await import('@akb/flash');
  const header = await readBundle(bundle, { trustedKeys: [], verify: false, headerOnly: true });
  const targets = header.manifest.targetProfiles;
  if (targets.length !== 1) {
    throw new AkbError('BAD_OPTION', `the bundle targets ${targets.length} profiles (${targets.join(', ')}): say which this folder stands for`, {
      hint: 'pass --profile <id>',
      exitCode: 2,
    });
  }
  return targets[0]!;
}

const TLS_ENV = { ca: 'AKB_TLS_CA', cert: 'AKB_TLS_CERT', key: 'AKB_TLS_KEY' } as const;

/**
 * Checks --ca/--cert/--key for --broker (protocol's loadTlsFlags) and sets AKB_TLS_* to their absolute
 * paths for the agent; returns what puts the environment back. TLS files without --broker are refused:
 * the embedded broker is plain.
 */
async function tlsIntoEnv(args: { broker?: string | undefined; ca?: string | undefined; cert?: string | undefined; key?: string | undefined }): Promise<() => void> {
  const given = (['ca', 'cert', 'key'] as const).filter((k) => args[k]);
  if (given.length === 0) return () => undefined;
  if (args.broker === undefined) {
    throw new AkbError('BAD_OPTION', `${given.map((k) => `--${k}`).join(', ')} given without --broker: the embedded broker takes no TLS`, {
      hint: 'pass --broker mqtts://host:8883 with the TLS files, or leave them out',
      exitCode: 2,
    });
  }
  const { loadTlsFlags } = await import('@akb/protocol/mqtt');
  await loadTlsFlags(args.broker, args);
  const saved = Object.fromEntries(given.map((k) => [TLS_ENV[k], process.env[TLS_ENV[k]]]));
  for (const k of given) process.env[TLS_ENV[k]] = resolve(args[k]!);
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

export const installCommand = defineCommand({
  command: 'install <bundle>',
  describe: "Install a bundle into a folder standing for a board, with the board's install agent (A/B slots, health check, rollback)",
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the .akb file' })
      .option('root', { type: 'string', demandOption: true, describe: 'the install root (slot-a, slot-b, state.json, current)' })
      .option('trust', { type: 'string', array: true, describe: `trusted public key file or folder of *.pub, repeatable (default ${DEFAULT_TRUST})` })
      .option('profile', { type: 'string', describe: "the board's profile id (default: the bundle's target, when it has one only)" })
      .option('force', { type: 'boolean', default: false, describe: 'install even an older (or the same) version' })
      .option('broker', { type: 'string', describe: 'MQTT broker for the probe and status events (mqtts:// with --ca/--cert/--key; default: an embedded one)' })
      .options(TLS_OPTIONS)
      .option('device', { type: 'string', default: 'akb-install', describe: 'device id the probe and the status events use' })
      .option('health-timeout', { type: 'number', default: 120, describe: "the probe's time limit, seconds" })
      .option('probe', { type: 'boolean', default: true, describe: 'health-check by starting the new runtime (--no-probe: a pass, for a runtime of another architecture)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
  run: async (args, io) => {
    const bundle = String(args.bundle);
    const profile = args.profile ?? (await soleTarget(bundle));
    const { installBundle } = await import('@akb/edge/install');
    const { startEmbeddedBroker } = await import('../broker/embedded.js');
    const restoreEnv = await tlsIntoEnv(args);
    const embedded = args.broker === undefined ? await startEmbeddedBroker({ port: 0 }) : undefined;
    try {
      const result = await installBundle(bundle, {
        root: args.root,
        profile,
        trust: args.trust?.map(String) ?? [DEFAULT_TRUST],
        deviceId: args.device,
        brokerUrl: args.broker ?? embedded!.url,
        healthTimeoutS: args.healthTimeout,
        force: args.force,
        out: io.out,
        ...(args.probe ? {} : { healthCheck: () => Promise.resolve({ ok: true as const, detail: 'not probed (--no-probe)' }) }),
      });
      if (args.json) io.out(JSON.stringify(result));
      if (result.status !== 'committed') {
        throw new AkbError(result.status === 'refused' ? 'INSTALL_REFUSED' : 'INSTALL_ROLLED_BACK', result.message, {
          exitCode: result.status === 'refused' ? 3 : 4,
        });
      }
      if (!args.json) io.out(`akb: installed ${bundle} into slot ${result.slot ?? '?'} of ${args.root}`);
    } finally {
      await embedded?.close();
      restoreEnv();
    }
  },
});
