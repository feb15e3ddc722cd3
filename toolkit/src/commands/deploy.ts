/**
 * `akb deploy --broker <url> --devices <ids|selector> bundle.akb`: an OTA job (protocol/PROTOCOL.md,
 * "Jobs") run from this process: a canary wave, then waves, halted when failures pass the threshold; a
 * line per wave and per device result, and the job's state retained on akb/v1/ota/job/{job}.
 * `akb deploy status <job>` reads that state from any process; `akb deploy abort <job>` asks the sender to
 * stop (no more offers). Exit codes: 0 completed, 4 halted, 5 aborted; 1 or 2 for errors (one line).
 * `--devices` takes ids (`cam-01,cam-02`) or a selector over the retained statuses: `all` (every device
 * whose status is online) or `profile=<id>` (those running that profile).
 * `--fleet-key` is the fleet key (the Ed25519 .key file `akb package --key` signs bundles with): every
 * offer is signed with it (protocol 1.4, "Signed messages"), and devices refuse an offer that is not.
 * `--ca/--cert/--key` are the broker's TLS files, as on every akb command that connects.
 */
import { AkbError, type OtaJob } from '@akb/protocol';
import type { AkbMqttClient } from '@akb/protocol/mqtt';
import type { CliContext } from './define.js';
import { defineCommand, type AkbCommand } from './define.js';
import { emit } from '../run-command.js';
import { TLS_OPTIONS, tlsFromArgs } from './tls-flags.js';

const DEFAULT_BROKER = 'mqtt://127.0.0.1:1883';
const brokerOption = { type: 'string', default: process.env.AKB_BROKER ?? DEFAULT_BROKER, describe: 'MQTT broker URL (env AKB_BROKER)' } as const;

interface ConnectArgs {
  broker: string;
  username?: string | undefined;
  password?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

async function connect(args: ConnectArgs, role: string): Promise<AkbMqttClient> {
  const { connectMqtt } = await import('@akb/protocol/mqtt');
  const suffix = Math.floor(Math.random() * 0xffffff).toString(16);
  if (args.key !== undefined && args.cert === undefined) {
    throw new AkbError('BAD_OPTION', '--key is the TLS client key and needs --cert', { hint: 'the fleet key that signs offers is --fleet-key', exitCode: 2 });
  }
  const tls = await tlsFromArgs(args.broker, args);
  return connectMqtt({ url: args.broker, clientId: `akb-deploy-${role}-${suffix}`, ...(args.username ? { username: args.username } : {}), ...(args.password ? { password: args.password } : {}), ...tls });
}

/** The retained state of `job`, or undefined when none arrives within `waitMs`. */
async function readJob(client: AkbMqttClient, job: string, waitMs: number): Promise<OtaJob | undefined> {
  const { decodeMessage, topics } = await import('@akb/protocol');
  return new Promise<OtaJob | undefined>((resolve) => {
    const timer = setTimeout(() => finish(undefined), waitMs);
    const off = client.onMessage(topics.otaJob(job), (m) => {
      try {
        finish(decodeMessage('ota-job', m.payload));
      } catch {
        // a malformed retained state: keep waiting for a good one
      }
    });
    function finish(value: OtaJob | undefined): void {
      clearTimeout(timer);
      off();
      resolve(value);
    }
    client.subscribe(topics.otaJob(job), { qos: 1 }).catch(() => finish(undefined));
  });
}

/** Device ids from `--devices`: a list, or a selector over the online devices' retained statuses. */
async function selectDevices(client: AkbMqttClient, spec: string, waitMs: number): Promise<string[]> {
  const m = /^(all|profile=([a-z0-9._-]{1,64}))$/.exec(spec.trim());
  const { assertDeviceId, decodeMessage, filters } = await import('@akb/protocol');
  if (!m) return [...new Set(spec.split(',').map((s) => s.trim()).filter(Boolean))].map(assertDeviceId);
  const profile = m[2];
  const found = new Map<string, boolean>();
  const off = client.onMessage(filters.allStatus, (msg) => {
    try {
      const s = decodeMessage('status', msg.payload);
      if (s.state === 'online') found.set(s.device, profile === undefined || s.profile === profile);
      else if (s.state === 'offline') found.delete(s.device);
    } catch {
      // a malformed status: not a device to deploy to
    }
  });
  await client.subscribe(filters.allStatus, { qos: 1 });
  await new Promise((r) => setTimeout(r, waitMs));
  off();
  await client.unsubscribe(filters.allStatus);
  const ids = [...found].filter(([, ok]) => ok).map(([id]) => id).sort();
  if (ids.length === 0) throw new AkbError('NO_DEVICES', `no online device matches "${spec}"`, { hint: 'name the devices (--devices a,b) or check that they are online', exitCode: 2 });
  return ids;
}

function summary(job: OtaJob): string[] {
  const count = (phase: string): number => job.devices.filter((d) => d.phase === phase).length;
  const lines = [
    `job ${job.job}: ${job.state}, ${job.bundle.name} ${job.bundle.version}, wave ${job.wave + 1} of ${job.waves}`,
    `  ${count('ok')} ok, ${count('failed')} failed, ${count('skipped')} skipped, ${job.devices.length - count('ok') - count('failed') - count('skipped')} in progress or pending, of ${job.devices.length}`,
  ];
  for (const d of job.devices.filter((x) => x.phase === 'failed')) lines.push(`  ${d.id}: ${d.reason ?? 'failed'}${d.rolledBack ? ' (rolled back)' : ''}`);
  if (job.message) lines.push(`  ${job.message}`);
  return lines;
}

const send = defineCommand({
  command: '$0 <bundle>',
  describe: 'Deliver a bundle to devices over MQTT in waves (canary first), halting when failures pass the threshold',
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the .akb file' })
      .option('broker', brokerOption)
      .option('devices', { type: 'string', demandOption: true, describe: 'device ids (a,b,c), or all / profile=<id> (online devices by their retained status)' })
      .option('canary', { type: 'string', default: '10%', describe: 'share of the devices in the first wave (0% for none)' })
      .option('wave', { type: 'string', default: '25%', describe: 'share of the devices in each later wave' })
      .option('max-failures', { type: 'string', default: '5%', describe: 'halt once failed devices exceed this share of all' })
      .option('job', { type: 'string', describe: 'job id (default deploy-<time>)' })
      .option('fleet-key', { type: 'string', demandOption: true, describe: 'the fleet key that signs every offer: Ed25519 private key (PKCS#8 PEM), the one akb package --key uses' })
      .option('offer-ttl', { type: 'number', default: 600, describe: 'seconds a signed offer stays valid (devices refuse it after)' })
      .option('force', { type: 'boolean', default: false, describe: 'let devices install an older (or the same) version' })
      .option('block-size', { type: 'number', default: 65536, describe: 'bytes per block, a power of two from 1024 to 131072' })
      .option('username', { type: 'string' })
      .option('password', { type: 'string' })
      .options(TLS_OPTIONS)
      .option('json', { type: 'boolean', default: false, describe: 'print the final job state as JSON' }),
  run: async (args, io) => {
    const { OtaJobRunner, bundleInfo, loadPrivateKey, parseShare } = await import('@akb/flash');
    const { assertDeviceId } = await import('@akb/protocol');
    const policy = { canary: parseShare(args.canary, 'canary'), wave: parseShare(args.wave, 'wave', false), maxFailures: parseShare(args.maxFailures, 'max-failures') };
    const jobId = assertDeviceId(args.job ?? `deploy-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`);
    if (!(Number.isFinite(args.offerTtl) && args.offerTtl >= 10 && args.offerTtl <= 86400)) {
      throw new AkbError('BAD_OPTION', `--offer-ttl ${args.offerTtl} is not a number of seconds from 10 to 86400`, { exitCode: 2 });
    }
    const offerKey = await loadPrivateKey(String(args.fleetKey));
    const bundle = await bundleInfo(String(args.bundle));
    const client = await connect(args, 'send');
    try {
      const devices = await selectDevices(client, args.devices, 1500);
      if (!args.json) io.out(`akb deploy: job ${jobId}: ${bundle.name} ${bundle.version} (${bundle.size} bytes) to ${devices.length} device(s)`);
      const seen = new Map<string, string>();
      let wave = -1;
      const runner = new OtaJobRunner({
        transport: client, jobId, bundle, devices, policy, blockSize: args.blockSize, force: args.force, offerKey, offerTtlMs: args.offerTtl * 1000,
        onState: (job) => {
          if (args.json) return;
          if (job.wave !== wave && job.state === 'running') io.out(`wave ${(wave = job.wave) + 1} of ${job.waves}: ${job.devices.filter((d) => d.wave === wave).length} device(s)`);
          for (const d of job.devices) {
            if ((d.phase === 'ok' || d.phase === 'failed') && seen.get(d.id) !== d.phase) {
              seen.set(d.id, d.phase);
              io.out(`  ${d.id}: ${d.phase === 'ok' ? 'installed' : `${d.reason ?? 'failed'}${d.rolledBack ? ', rolled back' : ''}`}`);
            }
          }
        },
      });
      const job = await runner.run();
      emit(io, args.json, job, () => summary(job));
      if (job.state === 'halted') throw new AkbError('DEPLOY_HALTED', job.message ?? 'halted', { exitCode: 4 });
      if (job.state === 'aborted') throw new AkbError('DEPLOY_ABORTED', job.message ?? 'aborted', { exitCode: 5 });
    } finally {
      await client.close();
    }
  },
});

const status = defineCommand({
  command: 'status <job>',
  describe: "Print an OTA job's state (retained on the broker by the akb deploy that runs it)",
  builder: (y) =>
    y
      .positional('job', { type: 'string', demandOption: true })
      .option('broker', brokerOption)
      .option('wait', { type: 'number', default: 3, describe: 'seconds to wait for the retained state' })
      .option('username', { type: 'string' })
      .option('password', { type: 'string' })
      .options(TLS_OPTIONS)
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { assertDeviceId } = await import('@akb/protocol');
    const jobId = assertDeviceId(String(args.job));
    const client = await connect(args, 'status');
    try {
      const job = await readJob(client, jobId, Math.max(0.1, Math.min(args.wait, 60)) * 1000);
      if (!job) throw new AkbError('JOB_NOT_FOUND', `no state of job ${jobId} on ${args.broker}`, { hint: 'check the job id (akb deploy prints it) and the broker' });
      emit(io, args.json, job, () => summary(job));
    } finally {
      await client.close();
    }
  },
});

const abort = defineCommand({
  command: 'abort <job>',
  describe: 'Ask the akb deploy running a job to stop: no more offers; devices already offered finish',
  builder: (y) =>
    y
      .positional('job', { type: 'string', demandOption: true })
      .option('broker', brokerOption)
      .option('reason', { type: 'string', describe: 'why, for the job state' })
      .option('username', { type: 'string' })
      .option('password', { type: 'string' })
      .options(TLS_OPTIONS),
  run: async (args, io) => {
    const { assertDeviceId, encodeMessage, topics } = await import('@akb/protocol');
    const jobId = assertDeviceId(String(args.job));
    const client = await connect(args, 'abort');
    try {
      const job = await readJob(client, jobId, 3000);
      if (!job) throw new AkbError('JOB_NOT_FOUND', `no state of job ${jobId} on ${args.broker}`, { hint: 'check the job id (akb deploy prints it) and the broker' });
      if (job.state !== 'running') throw new AkbError('JOB_NOT_RUNNING', `job ${jobId} is ${job.state} already`, { exitCode: 3 });
      const payload = encodeMessage('ota-abort', { v: 1, job: jobId, ts: Date.now(), ...(args.reason ? { reason: args.reason.slice(0, 2000) } : {}) });
      await client.publish(topics.otaJobAbort(jobId), payload, { qos: 1 });
      io.out(`akb deploy: asked job ${jobId} to stop (akb deploy status ${jobId} shows when it has)`);
    } finally {
      await client.close();
    }
  },
});

/** `akb deploy <bundle>`, `akb deploy status <job>`, `akb deploy abort <job>`. */
export const deployCommand: AkbCommand = (ctx: CliContext) => ({
  command: 'deploy',
  describe: 'Deliver a bundle to devices over MQTT in waves (OTA); status and abort of a job',
  builder: (y) => {
    for (const sub of [status, abort, send]) y.command(sub(ctx));
    return y;
  },
  handler: () => undefined,
});
