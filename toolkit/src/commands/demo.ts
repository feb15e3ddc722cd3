import { AkbError } from '@akb/protocol';
import type { MqttTlsOptions } from '@akb/protocol/mqtt';
import { defineCommand, defineGroup } from './define.js';
import { TLS_OPTIONS, tlsFromArgs } from './tls-flags.js';
import type { FrameReport } from '../demo/frames-demo.js';
import type { LoopRow } from '../demo/loop-demo.js';

/** The repository root, from toolkit/src or toolkit/dist alike: where models/ lives in a checkout. */
const repoRoot = new URL('../../../', import.meta.url);

const loop = defineCommand({
  command: ['loop', '$0'],
  describe: 'The full AKB-JSCC loop: edge, channel emulator and cloud over the embedded broker (or --broker)',
  builder: (y) =>
    y
      .option('broker', { type: 'string', describe: 'MQTT broker URL (mqtts:// with --ca/--cert/--key); default: the embedded broker on a free port' })
      .options(TLS_OPTIONS)
      .option('models', { type: 'string', describe: 'model zoo folder (default: models/zoo of this checkout)' })
      .option('set', { type: 'string', default: 'akb-k256', describe: 'model set (models/sets/<name>.json)' })
      .option('samples', { type: 'string', describe: 'folder of image folders to send (default: models/samples)' })
      .option('kodak', { type: 'number', default: 1, describe: 'large (Kodak) images to send per folder' })
      .option('policy', { type: 'string', describe: 'dqn, channel-kb or fixed:<action id> (default: dqn for an akb set, fixed:0 for the others)' })
      .option('report', { type: 'string', default: 'akb-demo-report.html', describe: 'HTML report to write' })
      .option('seed', { type: 'number', default: 1 })
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { fileURLToPath } = await import('node:url');
    const { writeFile, rename } = await import('node:fs/promises');
    const { startEmbeddedBroker } = await import('../broker/embedded.js');
    const { runLoopDemo } = await import('../demo/loop-demo.js');
    const { renderReport } = await import('../demo/report.js');
    const zoo = args.models ?? fileURLToPath(new URL('models/zoo', repoRoot));
    const samples = args.samples ?? fileURLToPath(new URL('models/samples', repoRoot));
    const tls = await demoTls(args);
    const broker = args.broker ? undefined : await startEmbeddedBroker();
    const url = args.broker ?? broker?.url ?? '';
    try {
      if (!args.json) {
        io.out(`akb demo: model set ${args.set}, policy ${args.policy ?? 'the set\'s default'}; broker ${url}${broker ? ' (embedded aedes)' : ''}`);
        io.out('channel: SNR sweep 12 -> -2 -> 12 dB over 24 s, Gauss-Markov fading (5 Hz Doppler), bursty fragment loss');
        io.out(`${'image'.padEnd(34)} ${'tiles'.padStart(5)}  ${'action'.padEnd(12)} ${'uses'.padStart(6)}  ${'SNR dB'.padStart(6)}  ${'PSNR dB'.padStart(7)}`);
      }
      const result = await runLoopDemo({
        brokerUrl: url,
        zoo,
        set: args.set,
        samples,
        maxLargeImages: args.kodak,
        policy: args.policy,
        seed: args.seed,
        ...tls,
        onRow: (r) => (args.json ? undefined : io.out(row(r))),
      });
      const psnrs = result.rows.map((r) => r.psnr).filter((p): p is number => p !== undefined);
      const mean = psnrs.reduce((a, b) => a + b, 0) / Math.max(1, psnrs.length);
      const html = await renderReport({
        title: `akb demo: ${args.set}`,
        subtitle: `${result.rows.length} images over a time-varying channel in ${result.elapsedS.toFixed(1)} s; ${result.emulator}`,
        images: result.images,
        timeline: result.timeline,
        summary: {
          images: result.rows.length,
          'decoded completely': result.rows.filter((r) => r.complete).length,
          'mean PSNR (dB)': psnrs.length ? mean.toFixed(2) : 'n/a',
          'channel uses': result.rows.reduce((s, r) => s + r.channelUses, 0),
          policy: args.policy ?? 'default',
          channel: result.emulator,
        },
      });
      await writeFile(`${args.report}.tmp`, html);
      await rename(`${args.report}.tmp`, args.report);
      if (args.json) io.out(JSON.stringify({ ...result, images: undefined, report: args.report }, null, 2));
      else io.out(`done: ${result.rows.length} images in ${result.elapsedS.toFixed(1)} s, mean PSNR ${mean.toFixed(2)} dB; report: ${args.report}`);
    } finally {
      await broker?.close();
    }
  },
});

const frames = defineCommand({
  command: 'frames',
  describe: 'Symbol frames alone through a bursty, noisy link (no models): the protocol layer',
  builder: (y) =>
    y
      .option('broker', { type: 'string', describe: 'MQTT broker URL (mqtts:// with --ca/--cert/--key); default: start the embedded broker on a free port' })
      .options(TLS_OPTIONS)
      .option('frames', { type: 'number', default: 16, describe: 'frames to send' })
      .option('snr', { type: 'number', default: 5, describe: 'channel SNR in dB' })
      .option('mtu', { type: 'number', default: 128, describe: 'largest fragment in bytes (a LoRa modem takes 255)' })
      .option('dtype', { choices: ['float32', 'float16', 'int8'] as const, default: 'int8' as const, describe: 'symbol type on the air' })
      .option('seed', { type: 'number', default: 1 })
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { startEmbeddedBroker } = await import('../broker/embedded.js');
    const { runFramesDemo } = await import('../demo/frames-demo.js');
    const tls = await demoTls(args);
    const broker = args.broker ? undefined : await startEmbeddedBroker();
    const url = args.broker ?? broker?.url ?? '';
    try {
      if (!args.json) {
        io.out(`akb demo frames: ${args.frames} frames of 256 complex symbols, ${args.dtype}, MTU ${args.mtu} B, broker ${url}`);
        io.out('frame  fragments  lost  erased  SNR dB  ms');
      }
      const result = await runFramesDemo({
        brokerUrl: url, frames: args.frames, snrDb: args.snr, mtu: args.mtu, dtype: args.dtype, seed: args.seed, ...tls,
        onStatus: (line) => (args.json ? undefined : io.out(line)),
        onFrame: (r) => (args.json ? undefined : io.out(frameRow(r))),
      });
      if (args.json) io.out(JSON.stringify(result, null, 2));
      else io.out(`done: ${result.reports.length}/${args.frames} frames, ${result.fragmentsDropped}/${result.fragmentsSent} fragments lost, decoded as erasures`);
    } finally {
      await broker?.close();
    }
  },
});

export const demoCommand = defineGroup('demo', 'Run the demo: the full loop (default) or frames alone', [loop, frames]);

/**
 * The TLS options for --broker from --ca/--cert/--key (tls-flags.ts). The embedded broker is plain and on
 * loopback, so TLS files without --broker are refused rather than ignored.
 */
async function demoTls(args: { broker?: string | undefined; ca?: string | undefined; cert?: string | undefined; key?: string | undefined }): Promise<{ tls?: MqttTlsOptions }> {
  if (args.broker) return tlsFromArgs(args.broker, args);
  const given = (['ca', 'cert', 'key'] as const).filter((k) => args[k]);
  if (given.length === 0) return {};
  throw new AkbError('BAD_OPTION', `${given.map((k) => `--${k}`).join(', ')} given without --broker: the embedded broker takes no TLS`, {
    hint: 'pass --broker mqtts://host:8883 with the TLS files, or leave them out to use the embedded broker',
    exitCode: 2,
  });
}

function row(r: LoopRow): string {
  const f = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(1));
  return `${r.name.slice(0, 34).padEnd(34)} ${String(r.tiles).padStart(5)}  ${r.action.padEnd(12)} ${String(r.channelUses).padStart(6)}  ${f(r.snrDb).padStart(6)}  ${f(r.psnr).padStart(7)}${r.complete ? '' : '  (partial)'}`;
}

function frameRow(r: FrameReport): string {
  const lost = r.lostFragments.length > 0 ? r.lostFragments.join(',') : '-';
  const pct = `${((100 * r.erasedSymbols) / r.totalSymbols).toFixed(0)}%`;
  const snr = Number.isFinite(r.measuredSnrDb) ? r.measuredSnrDb.toFixed(1) : 'n/a';
  return `${String(r.frameId).padStart(5)}  ${String(r.fragments).padStart(9)}  ${lost.padStart(4)}  ${pct.padStart(6)}  ${snr.padStart(6)}  ${r.latencyMs.toFixed(0).padStart(3)}`;
}
