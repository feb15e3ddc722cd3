/**
 * `akb link sdr-gateway`: the receive side of the sdr-udp link as a process. It binds a UDP port where GNU
 * Radio's UDP sink (link/gnuradio/sdr_channel.py, or a radio's receive flowgraph) sends cf32 samples, finds
 * the bursts, rebuilds the frames (with the measured SNR in them, protocol 1.3 RX_SNR) and publishes them
 * on the device's link/rx for the cloud. Alarms (no samples: the flowgraph is not running; no preamble:
 * samples but no frame) go to stderr as they are raised and cleared.
 */
import { AkbError } from '@akb/protocol';
import { defineCommand } from './define.js';
import { TLS_OPTIONS, tlsFromArgs } from './tls-flags.js';
import type { Io } from '../run-command.js';

interface SdrGatewayArgs {
  broker: string;
  device: string;
  port: number;
  host: string;
  qos: number;
  silenceAlarmMs: number;
  json: boolean;
  mqtt5: boolean;
  username?: string | undefined;
  passwordEnv?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

export const sdrGateway = defineCommand({
  command: 'sdr-gateway',
  describe: 'Receive sdr-udp bursts (cf32 samples over UDP from GNU Radio or a radio flowgraph) and publish the frames, with their measured SNR, on link/rx until interrupted',
  builder: (y) =>
    y
      .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
      .option('device', { type: 'string', demandOption: true, describe: 'device id whose link/rx gets the frames' })
      .option('port', { type: 'number', default: 5001, describe: 'UDP port to receive samples on (0: any; the one bound is printed)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind (0.0.0.0 for every interface)' })
      .option('qos', { choices: [0, 1] as const, default: 0 as const, describe: 'MQTT QoS of the published frames' })
      .option('silence-alarm-ms', { type: 'number', default: 5000, describe: 'raise no-samples / no-preamble after this long, ms' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON line per frame found (frame id, SNR, frequency offset) on stdout' })
      .option('mqtt5', { type: 'boolean', default: false, describe: 'speak MQTT 5 (Mosquitto, EMQX); the embedded broker speaks 3.1.1' })
      .option('username', { type: 'string', describe: 'MQTT username' })
      .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
      .options(TLS_OPTIONS),
  run: (args, io) => runSdrGateway(args as SdrGatewayArgs, io),
});

async function runSdrGateway(args: SdrGatewayArgs, io: Io): Promise<void> {
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    throw new AkbError('BAD_OPTION', `--port is a UDP port 0–65535, got ${args.port}`, { exitCode: 2 });
  }
  if (!(args.silenceAlarmMs >= 100 && args.silenceAlarmMs <= 3_600_000)) {
    throw new AkbError('BAD_OPTION', `--silence-alarm-ms is 100–3,600,000, got ${args.silenceAlarmMs}`, { exitCode: 2 });
  }
  const link = await import('@akb/link');
  const { connectMqtt } = await import('@akb/protocol/mqtt');
  const client = await connectMqtt({
    url: args.broker,
    clientId: `akb-sdr-gateway-${process.pid}`,
    protocolVersion: args.mqtt5 ? 5 : 4,
    username: args.username,
    password: args.passwordEnv ? process.env[args.passwordEnv] : undefined,
    ...(await tlsFromArgs(args.broker, args)),
  });
  let gateway: import('@akb/link').SdrUdpGateway | undefined;
  try {
    gateway = await link.SdrUdpGateway.open({
      port: args.port, host: args.host, deviceId: args.device, client, qos: args.qos === 1 ? 1 : 0, silenceAlarmMs: args.silenceAlarmMs,
    });
    gateway.onAlarm((a) => io.err(`akb link sdr-gateway: ${a.active ? 'alarm' : 'cleared'} ${a.kind}: ${a.message}`));
    gateway.onError((e) => io.err(`akb link sdr-gateway: ${e.message}`));
    if (args.json) {
      gateway.onBurst((b) => io.out(JSON.stringify({ frameId: b.header.frameId, fragment: b.header.fragmentIndex, symbols: b.header.payloadLength / 8, snrDb: round(b.snrDb, 2), cfo: round(b.cfo, 6) })));
    }
    io.out(`akb link sdr-gateway: listening on udp ${args.host}:${gateway.port}, frames to link/rx of ${args.device} at ${args.broker} (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const s = gateway.stats;
    io.out(`akb link sdr-gateway: ${s.published} frames published, ${s.publishFailures} failed; ${JSON.stringify(s)}`);
  } finally {
    await gateway?.close();
    await client.close();
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
