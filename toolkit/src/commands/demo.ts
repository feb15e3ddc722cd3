import { defineCommand } from './define.js';
import type { FrameReport } from '../demo/frames-demo.js';

export const demoCommand = defineCommand({
  command: 'demo',
  describe: 'Run the demo on the embedded broker (or --broker): symbol frames through a bursty, noisy link',
  builder: (y) =>
    y
      .option('broker', { type: 'string', describe: 'MQTT broker URL; default: start the embedded broker on a free port' })
      .option('frames', { type: 'number', default: 16, describe: 'frames to send' })
      .option('snr', { type: 'number', default: 5, describe: 'channel SNR in dB' })
      .option('mtu', { type: 'number', default: 128, describe: 'largest fragment in bytes (a LoRa modem takes 255)' })
      .option('dtype', { choices: ['float32', 'float16', 'int8'] as const, default: 'int8' as const, describe: 'symbol type on the air' })
      .option('seed', { type: 'number', default: 1 })
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { startEmbeddedBroker } = await import('../broker/embedded.js');
    const { runFramesDemo } = await import('../demo/frames-demo.js');
    const broker = args.broker ? undefined : await startEmbeddedBroker();
    const url = args.broker ?? broker?.url ?? '';
    try {
      if (!args.json) {
        io.out(`akb demo: ${args.frames} frames of 256 complex symbols (k/n = 1/12 of a 32x32 image), ${args.dtype}, MTU ${args.mtu} B`);
        io.out(`broker ${url}${broker ? ' (embedded aedes)' : ''}; channel: complex AWGN at ${args.snr} dB and Gilbert-Elliott fragment loss`);
        io.out('frame  fragments  lost  erased  SNR dB  ms');
      }
      const result = await runFramesDemo({
        brokerUrl: url,
        frames: args.frames,
        snrDb: args.snr,
        mtu: args.mtu,
        dtype: args.dtype,
        seed: args.seed,
        onStatus: (line) => (args.json ? undefined : io.out(line)),
        onFrame: (r) => (args.json ? undefined : io.out(row(r))),
      });
      if (args.json) {
        io.out(JSON.stringify(result, null, 2));
        return;
      }
      const erased = result.reports.reduce((s, r) => s + r.erasedSymbols, 0);
      const total = result.reports.reduce((s, r) => s + r.totalSymbols, 0);
      io.out(
        `done: ${result.reports.length}/${args.frames} frames, ${result.fragmentsDropped}/${result.fragmentsSent} fragments lost, ` +
          `${((100 * erased) / Math.max(1, total)).toFixed(1)}% of symbols erased and decodable as erasures, none failed`,
      );
    } finally {
      await broker?.close();
    }
  },
});

function row(r: FrameReport): string {
  const lost = r.lostFragments.length > 0 ? r.lostFragments.join(',') : '-';
  const pct = `${((100 * r.erasedSymbols) / r.totalSymbols).toFixed(0)}%`;
  const snr = Number.isFinite(r.measuredSnrDb) ? r.measuredSnrDb.toFixed(1) : 'n/a';
  return `${String(r.frameId).padStart(5)}  ${String(r.fragments).padStart(9)}  ${lost.padStart(4)}  ${pct.padStart(6)}  ${snr.padStart(6)}  ${r.latencyMs.toFixed(0).padStart(3)}`;
}
