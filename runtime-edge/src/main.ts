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
 * The installed command is bin/akb-edge, which starts this file with memory settings for small boards
 * (see there); `node dist/main.js` runs without them.
 */
import { stat } from 'node:fs/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { AkbError, SYMBOL_DTYPES, describeError } from '@akb/protocol';
import type { ModelSet } from '@akb/jscc';
import { EdgeAgent, type EdgeAgentOptions } from './agent.js';
import { installedFromEnv } from './install/slot-info.js';
import { parseBackends, resolveEdgeProfile } from './options.js';
import { describeProfile, edgeLimits, type EdgeProfileReport } from './profile.js';

const NO_MODELS =
  'akb-edge: no models (pass --models <zoo folder> --set <name>, e.g. --models models/zoo --set akb-k256; the reference models are in models/zoo of the akb repository, the sets in models/sets)\n';

async function parseArgs() {
  return yargs(hideBin(process.argv))
    .scriptName('akb-edge')
    .usage('$0 --device <id> [--broker <url>] [--profile <id>] [--models <zoo> --set <name> (--images <dir> | --watch <dir> | --ingest)]\n\nThe akb edge runtime.')
    .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
    .option('device', { type: 'string', default: process.env.AKB_DEVICE_ID, describe: 'device id, also the MQTT username (env AKB_DEVICE_ID)' })
    .option('profile', { type: 'string', default: process.env.AKB_PROFILE, describe: 'device profile id (akb devices list) or path to a profile JSON file (env AKB_PROFILE); default: detected from /proc, else generic-<arch>' })
    .option('username', { type: 'string', describe: 'MQTT username (default: the device id when a password is given)' })
    .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
    .option('mqtt5', { type: 'boolean', default: false, describe: 'speak MQTT 5 (Mosquitto, EMQX); the embedded broker speaks 3.1.1' })
    .option('models', { type: 'string', default: process.env.AKB_MODELS, describe: 'model zoo folder, e.g. models/zoo (env AKB_MODELS)' })
    .option('set', { type: 'string', default: process.env.AKB_SET ?? 'akb-k256', describe: "model set: a name in <zoo>/../sets/ or a path to its JSON, whose model names are folders of --models (env AKB_SET)" })
    .option('images', { type: 'string', describe: 'send the PNG/JPEG files of this folder, in name order' })
    .option('watch', { type: 'string', describe: 'send PNG/JPEG files as they appear in this folder' })
    .option('ingest', { type: 'boolean', describe: `take images sent with the image.send command (base64) on the device's cmd/req` })
    .conflicts('images', ['watch', 'ingest'])
    .conflicts('watch', 'ingest')
    .option('link', { choices: ['mqtt', 'emulated'] as const, default: 'mqtt' as const, describe: 'mqtt: frames on link/tx for a gateway or the emulator; emulated: channel in process, frames on link/rx' })
    .option('snr-db', { type: 'number', default: 10, describe: 'SNR of the emulated AWGN channel, dB' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the emulated channel and of the exploration' })
    .option('mtu', { type: 'number', describe: 'largest fragment, bytes (default 1024)' })
    .option('dtype', { choices: SYMBOL_DTYPES, describe: 'symbol dtype on the link (default float32)' })
    .option('policy', { type: 'string', describe: 'dqn | channel-kb | fixed:<action id> (default: dqn for an akb set, fixed:0 for deepjscc and akb-fixed sets)' })
    .option('epsilon', { type: 'number', describe: 'exploration rate of the policy (default 0.05)' })
    .option('telemetry-ms', { type: 'number', default: 1000, describe: 'telemetry period, ms; 0 for none' })
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
async function edgeProfile(args: Args): Promise<EdgeProfileReport> {
  const backends = parseBackends(args.backends);
  const resolved = await resolveEdgeProfile(args.profile);
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
  if (!args.device) {
    process.stderr.write('akb-edge: no device id (pass --device <id> or set AKB_DEVICE_ID)\n');
    return 2;
  }
  const wantsPipeline = args.probe !== undefined || args.models !== undefined || args.images !== undefined || args.watch !== undefined || args.ingest === true;
  if (wantsPipeline && !args.models) {
    process.stderr.write(NO_MODELS);
    return 2;
  }
  for (const dir of [args.images, args.watch]) {
    if (dir !== undefined && !(await stat(dir).then((s) => s.isDirectory(), () => false))) {
      throw new AkbError('SOURCE_MISSING', `${dir} is not a folder`, { hint: 'pass a folder of PNG or JPEG files', exitCode: 2 });
    }
  }
  const profile = await edgeProfile(args);
  process.stdout.write(`akb-edge: ${describeProfile(profile)}\n`);
  const password = args.passwordEnv ? process.env[args.passwordEnv] : undefined;
  const base: EdgeAgentOptions = {
    brokerUrl: args.broker,
    deviceId: args.device,
    profile: profile.id,
    profileChoice: profile.choice,
    username: args.username ?? (password !== undefined ? args.device : undefined),
    password,
    protocolVersion: args.mqtt5 ? 5 : 4,
    installed: await installedFromEnv(process.env, (line) => process.stderr.write(`${line}\n`)),
  };
  if (args.probe !== undefined && args.models) {
    const [{ runProbe }, { edgeBackends }] = await Promise.all([import('./probe.js'), import('./profile.js')]);
    const { models, set, probe } = args;
    await runProbe({ base, profile, models, set, image: probe, slotDir: process.env.AKB_SLOT_DIR, backends: edgeBackends(profile.limits.threads) });
    return 0;
  }
  let done: Promise<unknown> | undefined;
  let agent: EdgeAgent;
  if (args.models) {
    const [{ loadModelSet }, { modelVersions, startEdgeRuntime }, { edgeBackends }] = await Promise.all([
      import('@akb/jscc'),
      import('./pipeline/runtime.js'),
      import('./profile.js'),
    ]);
    // Handed over once: the runtime keeps the set without its ONNX bytes, and nothing here keeps it.
    let loaded: ModelSet | undefined = await loadModelSet(args.models, args.set);
    if (!args.kb && !loaded.kb) {
      throw new AkbError('BAD_OPTION', `--no-kb: ${loaded.name} has no source KB to withhold`, { hint: 'use --no-kb with an AKB set such as akb-k256', exitCode: 2 });
    }
    const source = imageSource(args);
    const device = args.device;
    const { limits } = profile;
    agent = await EdgeAgent.start({
      ...base,
      models: modelVersions(loaded),
      kb: loaded.kb?.versionId ?? null,
      capabilities: ['jscc', `link:${args.link}`, ...(args.ingest ? ['ingest'] : [])],
      attach: async (client) => {
        const set = loaded!;
        loaded = undefined;
        const runtime = await startEdgeRuntime(client, {
          deviceId: device, profile: profile.id, set, link: args.link, channelSnrDb: args.snrDb, seed: args.seed,
          mtu: args.mtu, dtype: args.dtype, policy: args.policy, epsilon: args.epsilon, telemetryMs: args.telemetryMs, source,
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
  process.stdout.write(`akb-edge: ${args.device} online at ${args.broker}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
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
