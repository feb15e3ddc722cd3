/**
 * The `--bootstrap` branch of `akb flash`: a board with only a login shell on its serial console gets
 * the install agent through that shell (@akb/flash/bootstrap), which is then started there as
 * `akb-agent receive` on the console's own tty, so the framed protocol (flash.ts's sendBundle) takes the
 * same open port on from there. Here: the user and password from the flags or, when the console asks
 * and a terminal is attached, a prompt (the password without echo); a progress line with throughput and
 * ETA on stderr (`--json`: one JSON object a line on stdout instead); the estimate for the rest.
 * Called by flash.ts with its open port; not a command of its own.
 */
import { AkbError } from '@akb/protocol';
import type { BootstrapResult, ConsoleLine } from '@akb/flash/bootstrap';
import type { Io } from '../run-command.js';

export interface FlashBootstrapArgs {
  baud: number;
  bundle: string;
  user?: string | undefined;
  password?: string | undefined;
  trust: readonly string[];
  boardDir?: string | undefined;
  root?: string | undefined;
  receiver?: 'sh' | 'python3' | undefined;
  /** The device id the board's agent uses (default: the board's hostname). */
  device?: string | undefined;
  /** The broker the board's health check uses (default: the agent's). */
  broker?: string | undefined;
  json: boolean;
}

/** Asks on the terminal; the answer hidden when `secret`. AkbError when no terminal is attached. */
export async function askTerminal(question: string, secret: boolean): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new AkbError('BOOTSTRAP_LOGIN', `the console asks for a ${secret ? 'password' : 'user name'} and no terminal is attached to ask you`, {
      hint: secret ? 'pass --password' : 'pass --user',
      exitCode: 2,
    });
  }
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(secret);
  stdin.resume();
  try {
    let answer = '';
    for await (const chunk of stdin) {
      for (const c of Buffer.from(chunk as Buffer).toString('utf8')) {
        if (c === '\r' || c === '\n') return answer;
        if (c === '\u0003') throw new AkbError('INTERRUPTED', 'interrupted', { exitCode: 130 });
        if (c === '\u007f') answer = answer.slice(0, -1);
        else answer += c;
      }
    }
    return answer;
  } finally {
    if (secret) process.stderr.write('\n');
    stdin.setRawMode(false);
    stdin.pause();
  }
}

function progressPrinter(args: FlashBootstrapArgs, io: Io): (path: string, held: number, total: number) => void {
  let started = performance.now();
  let current = '';
  let last = 0;
  return (path, held, total) => {
    const now = performance.now();
    if (path !== current) {
      current = path;
      started = now;
    }
    const rate = held / Math.max(0.001, (now - started) / 1000);
    const eta = rate > 0 ? (total - held) / rate : 0;
    if (args.json) {
      io.out(JSON.stringify({ event: 'progress', phase: 'bootstrap', path, bytes: held, total, bytesPerSecond: Math.round(rate), etaSeconds: Math.round(eta) }));
      return;
    }
    if (now - last < 250 && held < total) return;
    last = now;
    const width = 24;
    const filled = Math.round((held / Math.max(1, total)) * width);
    const line = `${path} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round((100 * held) / Math.max(1, total))}% ${(rate / 1000).toFixed(1)} kB/s ETA ${Math.round(eta)} s`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${held >= total ? '\n' : ''}`);
    else if (held >= total) io.err(line);
  };
}

/** Runs the bootstrap over the open `line` and starts the agent's receiver on the board. */
export async function flashBootstrap(args: FlashBootstrapArgs, io: Io, line: ConsoleLine): Promise<BootstrapResult> {
  const { loadTrustedKeys } = await import('@akb/flash');
  const { runBootstrap, startFramedReceiver } = await import('@akb/flash/bootstrap');
  const trustedKeys = await loadTrustedKeys(args.trust);
  const result = await runBootstrap(line, {
    bundle: args.bundle,
    trustedKeys,
    baud: args.baud,
    user: args.user ?? (() => askTerminal('login: ', false)),
    password: args.password ?? (() => askTerminal('Password: ', true)),
    ...(args.boardDir === undefined ? {} : { boardDir: args.boardDir }),
    ...(args.root === undefined ? {} : { agentRoot: args.root }),
    ...(args.receiver === undefined ? {} : { receiver: args.receiver }),
    onStep: (l) => (args.json ? io.out(JSON.stringify({ event: 'step', phase: 'bootstrap', message: l })) : io.err(`akb flash: ${l}`)),
    onProgress: progressPrinter(args, io),
  });
  const sent = result.sent.reduce((n, s) => n + s.pushedBytes, 0);
  const summary = {
    event: 'bootstrapped',
    receiver: result.receiver,
    boardDir: result.boardDir,
    files: result.sent.map((s) => ({ path: s.path, bytes: s.bytes, pushedBytes: s.pushedBytes, resends: s.resends })),
    seconds: Number(result.sendSeconds.toFixed(1)),
    shareOfLineRate: Number((sent / result.sendSeconds / (args.baud / 10)).toFixed(3)),
    restSeconds: Math.round(result.restSeconds),
  };
  if (args.json) io.out(JSON.stringify(summary));
  else io.err(`akb flash: the install agent is on the board in ${result.boardDir} (${result.receiver} receiver, ${summary.seconds} s, ${summary.shareOfLineRate} of the line rate); starting its receiver`);
  await startFramedReceiver(result.shell, {
    boardDir: result.boardDir,
    baud: args.baud,
    keysSent: trustedKeys.length > 0,
    ...(args.root === undefined ? {} : { root: args.root }),
    ...(args.device === undefined ? {} : { deviceId: args.device }),
    ...(args.broker === undefined ? {} : { broker: args.broker }),
  });
  result.shell.console.close();
  return result;
}
