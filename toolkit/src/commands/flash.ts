/**
 * `akb flash --port <tty> [--baud 921600] bundle.akb`: sends a bundle to the install agent on a board's
 * serial port (`akb-agent receive` there) with the framed protocol of @akb/flash (COBS, CRC-32C,
 * a window with selective repeat, resume from what the board holds), and prints the install's outcome. Progress: a bar
 * with throughput and ETA on stderr when it is a terminal; `--json`: one JSON object a line on stdout
 * (`{"event":"progress",...}`, then `{"event":"result",...}`). Exit codes as akb-agent: 0 committed,
 * 3 refused, 4 rolled back or failed. The port is node-serialport's, imported only when a port opens.
 */
import { AkbError } from '@akb/protocol';
import type { SendProgress, SendReport, SerialLine } from '@akb/flash';
import { defineCommand } from './define.js';
import { BOOTSTRAP_OPTIONS, bootstrapArgs, checkBootstrapOptions } from './flash-bootstrap-options.js';
import type { Io } from '../run-command.js';

interface OpenedPort extends SerialLine {
  close(): Promise<void>;
}

async function openPort(path: string, baudRate: number): Promise<OpenedPort> {
  if (!Number.isInteger(baudRate) || baudRate <= 0 || baudRate > 16_000_000) {
    throw new AkbError('BAD_OPTION', `--baud must be a positive whole number of bits per second, got ${String(baudRate)}`, { exitCode: 2 });
  }
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((error) =>
      error
        ? reject(new AkbError('PORT_OPEN', `cannot open the serial port ${path}: ${error.message}`, { hint: 'akb devices ports lists the ports; check the path and your access to it (group dialout)', exitCode: 2 }))
        : resolve(),
    ),
  );
  port.on('error', () => undefined); // a failing port also closes: the sender sees LINE_CLOSED
  return {
    write: (bytes) => new Promise<void>((resolve, reject) => port.write(Buffer.from(bytes), (e) => (e ? reject(new AkbError('LINE_CLOSED', `writing to ${path} failed: ${e.message}`)) : resolve()))),
    onData: (listener) => {
      port.on('data', listener);
      return () => port.off('data', listener);
    },
    onClose: (listener) => {
      const on = (): void => listener(`the serial port ${path} closed`);
      port.once('close', on);
      return () => port.off('close', on);
    },
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}

const mib = (n: number): string => `${(n / 1048576).toFixed(2)} MiB`;

/** Progress as a bar on a terminal, or JSON lines; throughput and ETA from the bytes acknowledged this run. */
export function progressPrinter(io: Io, json: boolean, tty: boolean): (p: SendProgress) => void {
  const t0 = Date.now();
  let last = 0;
  return (p) => {
    const s = (Date.now() - t0) / 1000;
    const rate = s > 0 ? (p.acked - p.resumedFrom) / s : 0;
    const eta = rate > 0 ? (p.size - p.acked) / rate : undefined;
    if (json) {
      if (Date.now() - last < 500 && p.phase === 'sending') return;
      last = Date.now();
      io.out(JSON.stringify({ event: 'progress', phase: p.phase, acked: p.acked, size: p.size, resumedFrom: p.resumedFrom, bytesPerSecond: Math.round(rate), etaS: eta === undefined ? null : Math.round(eta), ...(p.detail ? { detail: p.detail } : {}) }));
      return;
    }
    if (!tty || (Date.now() - last < 200 && p.phase === 'sending')) return;
    last = Date.now();
    const width = 30;
    const done = Math.round((p.acked / p.size) * width);
    const bar = `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`;
    const tail = p.phase === 'installing' ? `installing: ${p.detail ?? ''}` : p.phase === 'connecting' ? 'waiting for the agent' : `${(rate / 1024).toFixed(1)} KiB/s, ETA ${eta === undefined ? '?' : `${Math.round(eta)} s`}`;
    process.stderr.write(`\r${bar} ${mib(p.acked)}/${mib(p.size)} ${tail}`.slice(0, 160).padEnd(100));
  };
}

export const flashCommand = defineCommand({
  command: 'flash <bundle>',
  describe: "Send a bundle to a board's install agent over a serial port (framed, resumable) and install it",
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the .akb file' })
      .option('port', { type: 'string', demandOption: true, describe: 'the serial port, e.g. /dev/ttyUSB0' })
      .option('baud', { type: 'number', default: 921600, describe: 'line rate, bits/s (8N1)' })
      .option('force', { type: 'boolean', default: false, describe: 'install even an older (or the same) version' })
      .option('window', { type: 'number', default: 8, describe: 'DATA frames in flight (1 to 256)' })
      .option('frame-size', { type: 'number', default: 1024, describe: 'payload bytes per DATA frame (1 to 4096)' })
      .option('json', { type: 'boolean', default: false, describe: 'JSON progress and result lines on stdout' })
      .options(BOOTSTRAP_OPTIONS)
      .check(checkBootstrapOptions)
      .epilog('The board runs `akb-agent receive --port <its tty>`. Run akb flash again after a broken line or a restart: it resumes from what the board holds. With --bootstrap, a board with only a login shell on that port gets the agent through that shell first, then starts it there.'),
  run: async (args, io) => {
    const bundle = String(args.bundle);
    const { sendBundle } = await import('@akb/flash');
    const { access } = await import('node:fs/promises');
    await access(bundle).catch(() => {
      throw new AkbError('BUNDLE_NOT_FOUND', `cannot read the bundle ${bundle}`, { hint: 'check the path (akb package writes one)', exitCode: 2 });
    });
    const port = await openPort(String(args.port), args.baud);
    let report: SendReport;
    try {
      if (args.bootstrap) await (await import('./flash-bootstrap.js')).flashBootstrap(bootstrapArgs(bundle, args), io, port);
      report = await sendBundle(port, bundle, {
        baud: args.baud,
        force: args.force,
        window: args.window,
        maxData: args.frameSize,
        onProgress: progressPrinter(io, args.json, Boolean(process.stderr.isTTY)),
      });
    } finally {
      if (process.stderr.isTTY && !args.json) process.stderr.write('\n');
      await port.close();
    }
    if (args.json) io.out(JSON.stringify({ event: 'result', ...report }));
    if (report.status !== 'committed') {
      throw new AkbError(report.status === 'refused' ? 'INSTALL_REFUSED' : 'INSTALL_FAILED', `the board ${report.status === 'refused' ? 'refused' : report.status === 'rolled-back' ? 'rolled back' : 'failed'} ${bundle}: ${report.message}`, {
        exitCode: report.status === 'refused' ? 3 : 4,
      });
    }
    if (!args.json) io.out(`akb: flashed ${bundle} (${mib(report.size)}${report.resumedFrom > 0 ? `, resumed at ${mib(report.resumedFrom)}` : ''}, ${report.retransmissions} frames resent): ${report.message}`);
  },
});
