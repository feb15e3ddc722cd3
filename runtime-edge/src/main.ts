#!/usr/bin/env node
/**
 * `akb-edge`: the device daemon. Runs until SIGINT or SIGTERM, then says goodbye on its status topic.
 * With `--models` and `--set` it runs the JSCC pipeline on images from `--images`, `--watch` or
 * `--ingest`; without, it is the control plane only (birth, will, commands).
 *
 * The device profile (`--profile`: an id or a profile file; else detected, else the generic profile of the
 * architecture) sets the backends tried (`--backends` overrides them), the threads and the default batch
 * (profile.ts, options.ts); the birth names it.
 *
 * `--config <edge.json>` (config-file.ts) supplies the device id, broker, link section (any driver: emulated,
 * mqtt, serial, sdr-udp), telemetry interval and models folder; a flag given, then an environment variable,
 * overrides the file (settings.ts). On a link that declares its rate the policy keeps each tile's frame
 * within `--tile-budget-ms` (policy/link-ceiling.ts).
 *
 * The installed command is bin/akb-edge, which starts this file with memory settings for small boards
 * (see there); `node dist/main.js` runs without them.
 */
import { stat } from 'node:fs/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { AkbError, SYMBOL_DTYPES, describeError } from '@akb/protocol';
import { TLS_FLAGS } from '@akb/protocol/mqtt';
import type { ModelSet } from '@akb/jscc';
import { EdgeAgent, type EdgeAgentOptions } from './agent.js';
import { readEdgeConfig } from './config-file.js';
import { LINK_CHOICES, edgeSettings, linkDriverName } from './settings.js';
import { installedFromEnv } from './install/slot-info.js';
import { parseBackends, resolveEdgeProfile } from './options.js';
import { describeProfile, edgeLimits, type EdgeProfileReport } from './profile.js';

const USAGE = `$0 [--config <edge.json>] --device <id> [--broker <url>] [--profile <id>] [--models <zoo> --set <name> (--images <dir> | --watch <dir> | --ingest)]

The akb edge runtime. Precedence: a flag given here, then its environment variable (AKB_DEVICE_ID, AKB_BROKER, AKB_PROFILE, AKB_MODELS), then the --config file, then the default.`;

const NO_MODELS =
  'akb-edge: no models (pass --models <zoo folder> --set <name>, e.g. --models models/zoo --set akb-k256; the reference models are in models/zoo of the akb repository, the sets in models/sets)\n';

async function parseArgs() {
  return yargs(hideBin(process.argv))
    .scriptName('akb-edge')
    .usage(USAGE)
    .option('config', { type: 'string', describe: 'edge configuration file (protocol/schema/edge-config.schema.json): device id, broker, link, telemetry, models folder; flags given and environment variables override it' })
    .option('broker', { type: 'string', describe: 'MQTT broker URL (env AKB_BROKER; default mqtt://127.0.0.1:1883)' })
    .option('device', { type: 'string', describe: 'device id, also the MQTT username (env AKB_DEVICE_ID)' })
    .option('profile', { type: 'string', describe: 'device profile id (akb devices list) or path to a profile JSON file (env AKB_PROFILE); default: detected from /proc, else generic-<arch>' })
    .option('username', { type: 'string', describe: 'MQTT username (default: the device id when a password is given)' })
    .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
    .option('mqtt5', { type: 'boolean', describe: 'speak MQTT 5 (Mosquitto, EMQX); the embedded broker speaks 3.1.1 (default: off)' })
    .option('ca', { ...TLS_FLAGS.ca, describe: `${TLS_FLAGS.ca.describe} (env AKB_TLS_CA; else the config's broker.tls.ca)` })
    .option('cert', { ...TLS_FLAGS.cert, describe: `${TLS_FLAGS.cert.describe} (env AKB_TLS_CERT; else broker.tls.cert)` })
    .option('key', { ...TLS_FLAGS.key, describe: `${TLS_FLAGS.key.describe} (env AKB_TLS_KEY; else broker.tls.key)` })
    .option('models', { type: 'string', describe: 'model zoo folder, e.g. models/zoo (env AKB_MODELS)' })
    .option('set', { type: 'string', default: process.env.AKB_SET ?? 'akb-k256', describe: "model set: a name in <zoo>/../sets/ or a path to its JSON, whose model names are folders of --models (env AKB_SET)" })
    .option('images', { type: 'string', describe: 'send the PNG/JPEG files of this folder, in name order' })
    .option('watch', { type: 'string', describe: 'send PNG/JPEG files as they appear in this folder' })
    .option('ingest', { type: 'boolean', describe: `take images sent with the image.send command (base64) on the device's cmd/req` })
    .conflicts('images', ['watch', 'ingest'])
    .conflicts('watch', 'ingest')
    .option('link', { choices: LINK_CHOICES, describe: "mqtt: frames on link/tx for a gateway or the emulator; emulated: channel in process, frames on link/rx; serial, sdr-udp: the --config file's link section (default: the file's link, else mqtt)" })
    .option('snr-db', { type: 'number', describe: 'SNR of the emulated AWGN channel, dB (default 10)' })
    .option('seed', { type: 'number', describe: 'seed of the emulated channel and of the exploration (default 1)' })
    .option('mtu', { type: 'number', describe: "largest fragment, bytes (default: the link section's, 1024)" })
    .option('tile-budget-ms', { type: 'number', describe: "time a tile's frame may take on a link that declares its rate (serial, sdr-udp), ms; the policy picks no action above it; 0: none (default: the link section's, 1000)" })
    .option('dtype', { choices: SYMBOL_DTYPES, describe: 'symbol dtype on the link (default float32)' })
    .option('policy', { type: 'string', describe: 'dqn | channel-kb | fixed:<action id> (default: dqn for an akb set, fixed:0 for deepjscc and akb-fixed sets)' })
    .option('epsilon', { type: 'number', describe: 'exploration rate of the policy (default 0.05)' })
    .option('telemetry-ms', { type: 'number', describe: "telemetry period, ms; 0 for none (default: the file's telemetry.intervalMs, 1000)" })
    .option('kb', { type: 'boolean', default: true, describe: "use the AKB set's source KB; --no-kb withholds it (no index sent, the KB's global mean as prior, every channel use latent)" })
    .option('max-batch', { type: 'number', describe: "most tiles per model run (default from the profile's memory: 16 below 2 GiB, else 32)" })
    .option('backends', { type: 'string', default: process.env.AKB_BACKENDS, describe: "inference backends to try, comma-separated, instead of the profile's order (env AKB_BACKENDS); under qemu-user native onnxruntime-node crashes (SIGSEGV) on load: force onnxruntime-web-wasm" })
    .option('threads', { type: 'number', describe: "onnxruntime's intra-op threads (default: AKB_ORT_THREADS, else onnxruntime's choice)" })
    .option('probe', { type: 'string', describe: "health check (akb-agent's): load the models, connect, encode this PNG once (bare: AKB_SLOT_DIR/probe/probe.png), print one JSON line, exit" })
    .conflicts('probe', ['images', 'watch', 'ingest'])
    .option('once', { type: 'boolean', default: false, describe: 'with --images: exit when the folder is sent, printing the peak resident memory' })
    .strict()
    .parseAsync();
}

type Args = Awaited<ReturnType<typeof parseArgs>>;

function positiveInt(value: number | undefined, flag: string, max: number): number | undefined {
  if (value === undefined || (Number.isInteger(value) && value >= 1 && value <= max)) return value;
  throw new AkbError('BAD_OPTION', `${flag} ${value} is not a whole number from 1 to ${max}`, { hint: `pass ${flag} <1..${max}>`, exitCode: 2 });
}

/** The profile (given, detected or generic) and what it sets; an unknown id is a usage error naming the known ones. */
async function edgeProfile(args: Args, profileId: string | undefined): Promise<EdgeProfileReport> {
  const backends = parseBackends(args.backends);
  const resolved = await resolveEdgeProfile(profileId);
  const limits = edgeLimits(resolved.profile, {
    threads: positiveInt(args.threads, '--threads', 256),
    maxBatch: positiveInt(args.maxBatch, '--max-batch', 4096),
    ...(backends === undefined ? {} : { backends }),
  });
  return { id: resolved.profile.id, choice: resolved.choice, reason: resolved.reason, limits };
}

function imageSource(args: Args) {
  if (args.images) return { kind: 'directory', dir: args.images } as const;
  if (args.watch) return { kind: 'watch', dir: args.watch } as const;
  if (args.ingest) return { kind: 'ingest' } as const;
  return undefined;
}

async function main(): Promise<number> {
  const args = await parseArgs();
  const budget = args.tileBudgetMs;
  if (budget !== undefined && !(Number.isFinite(budget) && budget >= 0 && budget <= 3_600_000)) {
    throw new AkbError('BAD_OPTION', `--tile-budget-ms ${budget} is not a number of ms from 0 to 3,600,000`, { hint: 'pass --tile-budget-ms 1000 (0: no ceiling)', exitCode: 2 });
  }
  const file = args.config !== undefined ? await readEdgeConfig(args.config) : undefined;
  const settings = await edgeSettings(args, file);
  const device = settings.device;
  if (!device) {
    process.stderr.write('akb-edge: no device id (pass --device <id>, set AKB_DEVICE_ID or give --config a file with deviceId)\n');
    return 2;
  }
  const wantsPipeline = args.probe !== undefined || settings.models !== undefined || args.images !== undefined || args.watch !== undefined || args.ingest === true;
  if (wantsPipeline && !settings.models) {
    process.stderr.write(NO_MODELS);
    return 2;
  }
  for (const dir of [args.images, args.watch]) {
    if (dir !== undefined && !(await stat(dir).then((s) => s.isDirectory(), () => false))) {
      throw new AkbError('SOURCE_MISSING', `${dir} is not a folder`, { hint: 'pass a folder of PNG or JPEG files', exitCode: 2 });
    }
  }
  const profile = await edgeProfile(args, settings.profile);
  process.stdout.write(`akb-edge: ${describeProfile(profile)}\n`);
  const base: EdgeAgentOptions = {
    brokerUrl: settings.broker,
    deviceId: device,
    profile: profile.id,
    profileChoice: profile.choice,
    username: settings.username,
    password: settings.password,
    protocolVersion: settings.protocolVersion,
    ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
    ...(settings.clientId !== undefined ? { clientId: settings.clientId } : {}),
    keepaliveSeconds: settings.keepaliveSeconds,
    reconnectPeriodMs: settings.reconnectPeriodMs,
    installed: await installedFromEnv(process.env, (line) => process.stderr.write(`${line}\n`)),
  };
  const { models } = settings;
  if (args.probe !== undefined && models) {
    const [{ runProbe }, { edgeBackends }] = await Promise.all([import('./probe.js'), import('./profile.js')]);
    const { set, probe } = args;
    await runProbe({ base, profile, models, set, image: probe, slotDir: process.env.AKB_SLOT_DIR, backends: edgeBackends(profile.limits.threads) });
    return 0;
  }
  // Listening before connecting: a SIGTERM while connecting or loading models (its birth may already be out)
  // still ends in a clean shutdown, not the default death by signal. A second one kills at once.
  let stop: (() => void) | undefined;
  let signalled = false;
  const onSignal = (): void => {
    signalled = true;
    stop?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let done: Promise<unknown> | undefined;
  let agent: EdgeAgent;
  if (models) {
    const [{ loadModelSet }, { modelVersions, startEdgeRuntime }, { edgeBackends }] = await Promise.all([
      import('@akb/jscc'),
      import('./pipeline/runtime.js'),
      import('./profile.js'),
    ]);
    // Handed over once: the runtime keeps the set without its ONNX bytes, and nothing here keeps it.
    let loaded: ModelSet | undefined = await loadModelSet(models, args.set);
    if (!args.kb && !loaded.kb) {
      throw new AkbError('BAD_OPTION', `--no-kb: ${loaded.name} has no source KB to withhold`, { hint: 'use --no-kb with an AKB set such as akb-k256', exitCode: 2 });
    }
    const source = imageSource(args);
    const { limits } = profile;
    agent = await EdgeAgent.start({
      ...base,
      models: modelVersions(loaded),
      kb: loaded.kb?.versionId ?? null,
      capabilities: ['jscc', `link:${linkDriverName(settings.link)}`, ...(args.ingest ? ['ingest'] : [])],
      attach: async (client) => {
        const set = loaded!;
        loaded = undefined;
        const runtime = await startEdgeRuntime(client, {
          deviceId: device, profile: profile.id, set, link: settings.link, seed: settings.seed, mtu: args.mtu, tileBudgetMs: args.tileBudgetMs,
          dtype: args.dtype, policy: args.policy, epsilon: args.epsilon, telemetryMs: settings.telemetryMs, source,
          backends: edgeBackends(limits.threads), backendOrder: limits.backends, maxBatch: limits.maxBatch, sourceKb: args.kb ? 'on' : 'off',
          snapshot: { limits: { ...limits, threads: limits.threads ?? null }, sourceKb: args.kb ? 'on' : 'off' },
          onReport: (r) => process.stdout.write(`akb-edge: sent ${r.name}: ${r.tiles} tiles, ${r.channelUses} channel uses, ${r.ms.total.toFixed(1)} ms\n`),
          onError: (e, name) => process.stderr.write(`akb-edge: skipped ${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`),
        });
        done = runtime.done.then((s) => {
          if (source?.kind === 'directory') process.stdout.write(`akb-edge: ${source.dir}: ${s.sent} sent, ${s.corrupt} corrupt, ${s.failed} failed\n`);
        });
        return runtime.attachment;
      },
    });
  } else {
    agent = await EdgeAgent.start(base);
  }
  process.stdout.write(`akb-edge: ${device} online at ${settings.broker}\n`);
  await new Promise<void>((resolve) => {
    stop = resolve;
    if (signalled) resolve();
    if (args.once && args.images && done) done.then(() => setTimeout(resolve, 300), resolve);
  });
  await agent.stop();
  if (args.once) {
    const { peakRssBytes } = await import('./telemetry/system.js');
    const peak = peakRssBytes();
    if (peak !== undefined) process.stdout.write(`akb-edge: peak resident memory ${(peak / 2 ** 20).toFixed(1)} MiB\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const { lines, exitCode } = describeError(e, 'akb-edge', Boolean(process.env.AKB_DEBUG));
    for (const line of lines) process.stderr.write(`${line}\n`);
    process.exit(exitCode);
  },
);
