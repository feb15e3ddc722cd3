/**
 * `akb link modem-sim`: a simulated radio modem on a pty pair, for tests and HIL plans without hardware.
 * The driver opens `--pty`; the simulator answers on `<pty>.peer` as an RN2483 or E32 would, and what it
 * puts on air is reassembled (compact link segmentation) and published on the device's link/rx.
 */
import { AkbError } from '@akb/protocol';
import { defineCommand } from './define.js';
import { TLS_OPTIONS, tlsFromArgs } from './tls-flags.js';
import type { Io } from '../run-command.js';

interface ModemSimArgs {
  broker: string;
  device: string;
  pty: string;
  modem: 'rn2483' | 'e32';
  airRate: number;
  packetBytes: number;
  airtimeScale: number;
  txError: number;
  loss: number;
  garbage: number;
  seed: number;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

const share = (name: string, v: number): number => {
  if (!(v >= 0 && v <= 1)) throw new AkbError('BAD_OPTION', `--${name} is a probability in [0, 1], got ${v}`, { exitCode: 2 });
  return v;
};

export const modemSim = defineCommand({
  command: 'modem-sim',
  describe: 'Simulate a radio modem (RN2483 LoRa AT or E32 transparent) on a pty pair; publish what it hears on link/rx, as a gateway would, until interrupted',
  builder: (y) =>
    y
      .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
      .option('device', { type: 'string', demandOption: true, describe: 'device id whose link/rx the gateway publishes on' })
      .option('pty', { type: 'string', demandOption: true, describe: 'path of the pty the driver opens (the simulator takes <pty>.peer)' })
      .option('modem', { choices: ['rn2483', 'e32'] as const, default: 'rn2483' as const, describe: 'modem dialect' })
      .option('air-rate', { type: 'number', default: 2400, describe: 'E32 air data rate, bits/s' })
      .option('packet-bytes', { type: 'number', default: 58, describe: 'E32 packet size, bytes (16–255)' })
      .option('airtime-scale', { type: 'number', default: 1, describe: 'divide every time on air by this (1: real time)' })
      .option('tx-error', { type: 'number', default: 0, describe: 'probability that an RN2483 answers radio_err' })
      .option('loss', { type: 'number', default: 0, describe: 'probability that a packet sent is heard by nobody' })
      .option('garbage', { type: 'number', default: 0, describe: 'probability of a line of noise before an answer (E32: a corrupted packet)' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the fault draws' })
      .options(TLS_OPTIONS),
  run: (args, io) => runModemSim(args as ModemSimArgs, io),
});

async function runModemSim(args: ModemSimArgs, io: Io): Promise<void> {
  if (!(args.airtimeScale > 0)) throw new AkbError('BAD_OPTION', `--airtime-scale must be > 0, got ${args.airtimeScale}`, { exitCode: 2 });
  if (args.modem === 'e32' && !(args.airRate > 0)) throw new AkbError('BAD_OPTION', `--air-rate must be > 0, got ${args.airRate}`, { exitCode: 2 });
  if (!Number.isInteger(args.packetBytes) || args.packetBytes < 16 || args.packetBytes > 255) throw new AkbError('BAD_OPTION', `--packet-bytes is 16–255, got ${args.packetBytes}`, { exitCode: 2 });
  const faults = { txErrorRate: share('tx-error', args.txError), airLossRate: share('loss', args.loss), garbageRate: share('garbage', args.garbage) };
  const link = await import('@akb/link');
  const { connectMqtt } = await import('@akb/protocol/mqtt');
  const client = await connectMqtt({ url: args.broker, clientId: `akb-modem-sim-${process.pid}`, ...(await tlsFromArgs(args.broker, args)) });
  let pair: import('@akb/link').PtyPair | undefined;
  let sim: import('@akb/link').ModemSim | undefined;
  try {
    pair = await link.startPtyPair(args.pty);
    const gateway = new link.RadioGatewaySim({ client, deviceId: args.device });
    sim = await link.ModemSim.open({
      path: pair.peerPath,
      modem: args.modem === 'rn2483' ? { kind: 'rn2483' } : { kind: 'e32', airBitsPerSecond: args.airRate, packetBytes: args.packetBytes },
      airtimeScale: args.airtimeScale,
      ...faults,
      seed: args.seed >>> 0,
      onAir: (p) => gateway.hear(p),
    });
    io.out(`akb link modem-sim: ${args.modem} on ${pair.path}, heard frames on link/rx of ${args.device} at ${args.broker} (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const g = gateway.stats;
    io.out(`akb link modem-sim: ${sim.stats.packetsOnAir} packets on air (${Math.round(sim.stats.airtimeMs)} ms), ${sim.stats.packetsLost} lost, ${sim.stats.txErrors} radio_err; ${g.frames} frames reassembled, ${g.published} published, ${g.badCrc} failed the CRC`);
  } finally {
    await sim?.close();
    await pair?.stop();
    await client.close();
  }
}
