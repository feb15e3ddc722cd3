import { AkbError } from '@akb/protocol';
import { defineCommand, defineGroup } from './define.js';
import { TLS_OPTIONS, tlsFromArgs } from './tls-flags.js';
import type { Io } from '../run-command.js';
import { modemSim } from './link-modem-sim.js';
import { sdrGateway } from './link-sdr-gateway.js';

const FADINGS = ['awgn', 'rayleigh', 'rician', 'gauss-markov'] as const;

interface EmulateArgs {
  broker: string;
  device?: string | undefined;
  snr?: number | undefined;
  snrTrace?: string | undefined;
  mobility?: string | undefined;
  fading: (typeof FADINGS)[number];
  doppler?: number | undefined;
  kFactor?: number | undefined;
  phaseBlind: boolean;
  equalize: boolean;
  symbolRate: number;
  loss?: string | undefined;
  latency: number;
  jitter: number;
  keepOrder: boolean;
  record?: string | undefined;
  seed: number;
  qos: number;
  mqtt5: boolean;
  username?: string | undefined;
  passwordEnv?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

const emulate = defineCommand({
  command: 'emulate',
  describe: 'Run the channel emulator: relay link/tx frames to link/rx through loss, fading, noise and delay until interrupted; channel.set/get on akb/v1/link/ctl/req change its SNR while it runs',
  builder: (y) =>
    y
      .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
      .option('device', { type: 'string', describe: 'serve one device id; default: every device (akb/v1/dev/+/link/tx)' })
      .option('snr', { type: 'number', describe: 'constant SNR in dB (default 10)' })
      .option('snr-trace', { type: 'string', describe: 'file of time -> SNR dB (CSV "time_ms,snr_db" or JSON), followed from each device\'s first frame' })
      .option('mobility', { type: 'string', describe: 'mobility profile giving path loss + shadowing over time: walk, drive, static' })
      .option('fading', { choices: FADINGS, default: 'awgn' as const, describe: 'block rayleigh/rician per frame, or time-varying gauss-markov' })
      .option('doppler', { type: 'number', describe: 'maximum Doppler in Hz for gauss-markov (fD = v f_c / c)' })
      .option('k-factor', { type: 'number', describe: 'Rician K factor (linear) for --fading rician' })
      .option('phase-blind', { type: 'boolean', default: false, describe: 'apply |h| instead of h' })
      .option('equalize', { type: 'boolean', default: true, describe: 'divide by h at the receiver (perfect CSI); --no-equalize forwards h·z + n' })
      .option('symbol-rate', { type: 'number', default: 1e6, describe: 'symbols per second: gauss-markov step and SigMF sample rate' })
      .option('loss', { type: 'string', describe: 'Gilbert-Elliott fragment loss p,r,lossBad,lossGood (netem gemodel p r 1-h 1-k)' })
      .option('latency', { type: 'number', default: 0, describe: 'one-way delay in ms' })
      .option('jitter', { type: 'number', default: 0, describe: 'uniform jitter ± ms (may reorder fragments, as netem)' })
      .option('keep-order', { type: 'boolean', default: false, describe: 'never reorder a device\'s fragments, whatever the jitter' })
      .option('record', { type: 'string', describe: 'record received samples as SigMF: <path>.sigmf-data and <path>.sigmf-meta' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of every random draw, for repeatable runs' })
      .option('qos', { choices: [0, 1] as const, default: 0 as const, describe: 'MQTT QoS of the subscription and the relayed frames' })
      .option('mqtt5', { type: 'boolean', default: false, describe: 'speak MQTT 5 (Mosquitto, EMQX); the embedded broker speaks 3.1.1' })
      .option('username', { type: 'string', describe: 'MQTT username' })
      .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
      .options(TLS_OPTIONS),
  run: (args, io) => runEmulate(args, io),
});

async function runEmulate(args: EmulateArgs, io: Io): Promise<void> {
  const link = await import('@akb/link');
  const { connectMqtt } = await import('@akb/protocol/mqtt');
  const config = await channelConfig(args, link);
  const channelFor = link.channelFactory(config, args.seed >>> 0);
  const description = channelFor('probe').describe();
  const client = await connectMqtt({
    url: args.broker,
    clientId: `akb-emulator-${process.pid}`,
    protocolVersion: args.mqtt5 ? 5 : 4,
    username: args.username,
    password: args.passwordEnv ? process.env[args.passwordEnv] : undefined,
    ...(await tlsFromArgs(args.broker, args)),
  });
  let emulator: import('@akb/link').ChannelEmulator | undefined;
  let control: import('@akb/link').ChannelControl | undefined;
  let recorder: import('@akb/link').SigmfRecorder | undefined;
  try {
    recorder = args.record
      ? link.SigmfRecorder.open({ path: args.record, sampleRateHz: args.symbolRate, description: `akb channel emulator: ${description}` })
      : undefined;
    emulator = await link.ChannelEmulator.start({
      client,
      device: args.device,
      channelFor,
      qos: args.qos === 1 ? 1 : 0,
      keepOrder: args.keepOrder,
      recorder,
    });
    emulator.errors.on((e) => io.err(`akb link emulate: ${e.message}`));
    // channel.set / channel.get on akb/v1/link/ctl/req: a sweep (akb hil run) changes the SNR without a restart.
    control = await link.ChannelControl.start({
      client,
      emulator,
      onSet: (c) => io.err(`akb link emulate: SNR of ${c.all ? 'every device' : c.devices.join(', ')} set to ${c.snrDb} dB by ${c.from ?? '?'}`),
    });
    io.out(`akb link emulate: ${args.device ?? 'every device'} on ${args.broker}: ${description}${recorder ? `; recording to ${recorder.paths.base}.sigmf-*` : ''} (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await emulator.stop();
    io.out(`akb link emulate: ${emulator.summary()}`);
  } finally {
    await control?.stop().catch(() => undefined);
    if (emulator) await emulator.stop();
    else recorder?.close();
    await client.close();
  }
}

type Link = typeof import('@akb/link');

async function channelConfig(args: EmulateArgs, link: Link): Promise<import('@akb/link').ChannelConfig> {
  // Checked here rather than with yargs' conflicts(), which reports the clash but still runs the handler.
  if ([args.snr, args.snrTrace, args.mobility].filter((v) => v !== undefined).length > 1) {
    throw new AkbError('CONFLICTING_OPTIONS', '--snr, --snr-trace and --mobility are alternatives', { hint: 'give one of them', exitCode: 2 });
  }
  const snr: import('@akb/link').SnrSource = args.snrTrace
    ? { kind: 'trace', trace: await link.loadSnrTrace(args.snrTrace) }
    : args.mobility
      ? { kind: 'mobility', profile: args.mobility }
      : { kind: 'constant', snrDb: args.snr ?? 10 };
  if (args.fading === 'gauss-markov' && args.doppler === undefined) {
    throw new AkbError('INVALID_CHANNEL', '--fading gauss-markov needs --doppler <Hz>', { hint: 'e.g. --doppler 4 for walking at 868 MHz (fD = v f_c / c)' });
  }
  if (args.fading === 'rician' && args.kFactor === undefined) {
    throw new AkbError('INVALID_CHANNEL', '--fading rician needs --k-factor <linear>', { hint: 'e.g. --k-factor 3 (4.8 dB of line of sight)' });
  }
  const phaseBlind = args.phaseBlind;
  const fading =
    args.fading === 'rayleigh' ? { kind: 'rayleigh' as const, phaseBlind }
    : args.fading === 'rician' ? { kind: 'rician' as const, kFactor: args.kFactor ?? 0, phaseBlind }
    : args.fading === 'gauss-markov' ? { kind: 'gauss-markov' as const, dopplerHz: args.doppler ?? 0, symbolRateHz: args.symbolRate, phaseBlind }
    : { kind: 'none' as const };
  return {
    snr,
    fading,
    equalize: args.equalize,
    ...(args.loss !== undefined ? { loss: link.parseGilbertElliott(args.loss) } : {}),
    ...(args.latency > 0 || args.jitter > 0 ? { latency: { latencyMs: args.latency, jitterMs: args.jitter } } : {}),
  };
}

export const linkCommand = defineGroup('link', 'The radio link: a channel emulator between link/tx and link/rx, a simulated radio modem, the sdr-udp gateway', [emulate, modemSim, sdrGateway]);
