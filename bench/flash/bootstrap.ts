/**
 * bench/flash/bootstrap: effective throughput of the serial bootstrap's push (toolkit/flash/src/bootstrap)
 * as a share of the line rate, at 115200 baud, for each receiver (python3; sh with base64 and sha256sum).
 * The board is a real login (a throwaway user behind /bin/login on a socat pty: test/flash/bootstrap-board.ts);
 * between them the pacing relay of the framed protocol's bench (test/support/line-relay.ts: both
 * directions at the line rate, 8N1: 10 bits a byte; a pty would otherwise move bytes at memory speed),
 * so the share is honest and comparable: bytes of the file checked on the board per second over baud/10,
 * the time from the receiver's start to the file checked and in place. The payload is 96 KiB of random bytes, which gzip cannot shrink, so compression does not
 * inflate the figure. The ceiling of the line format is 1024/1440 = 0.711 (base64 and the per-line
 * sequence number and SHA-256); the rest of the gap is waiting for acknowledgements.
 * Then the whole bootstrap of a real packaged bundle (generic-x64, --no-node) at 115200 through the relay:
 * login to the agent started, the seconds and the share of the line rate of the compressed bytes pushed.
 * Needs root (useradd, login); without it the result says so. Run alone: `npx tsx bench/flash/bootstrap.ts`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConsoleText, detectTools, loginShell, runBootstrap } from '../../toolkit/flash/src/bootstrap/index.js';
import { sendFile, writeReceiver } from '../../toolkit/flash/src/bootstrap/transfer.js';
import { makeBoard, unavailable } from '../../test/flash/bootstrap-board.js';
import { openPtyLine } from '../../test/flash/bootstrap-line.js';
import { LineRelay } from '../../test/support/line-relay.js';

const BAUD = 115_200;
const PAYLOAD = 96 * 1024;

/** The whole bootstrap of a packaged bundle at BAUD through the relay. */
async function wholeBootstrap(dir: string, board: ReturnType<typeof makeBoard>): Promise<object> {
  const akb = (a: string[]) => spawnSync(process.execPath, ['toolkit/bin/akb.js', ...a], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
  akb(['keys', 'generate', '--out', dir, '--name', 'bench']);
  const bundle = join(dir, 'b.akb');
  const packed = akb(['package', '--profile', 'generic-x64', '--set', 'akb-k256', '--key', join(dir, 'bench.key'), '-o', bundle, '--no-node', '--version', '1.0.0']);
  if (packed.status !== 0) return { skipped: `akb package failed: ${packed.stderr.trim().split('\n').at(-1) ?? ''}` };
  board.onlyPrograms(undefined);
  const relay = await LineRelay.start({ baud: BAUD, dir: await mkdtemp(join(dir, 'relay-')) });
  const login = await board.consoleOn(relay.boardPath);
  const line = openPtyLine(relay.hostPath);
  try {
    const started = performance.now();
    const r = await runBootstrap(line, { bundle, trustedKeys: [], baud: BAUD, user: board.user, password: board.password, boardDir: join(board.home, 'agent'), agentRoot: join(board.home, 'root'), timeoutMs: 20_000 });
    const total = (performance.now() - started) / 1000;
    const pushed = r.sent.reduce((n, s) => n + s.pushedBytes, 0);
    r.shell.console.close();
    return {
      receiver: r.receiver,
      files: r.sent.map((s) => ({ path: s.path, bytes: s.bytes, pushedBytes: s.pushedBytes })),
      sendSeconds: Number(r.sendSeconds.toFixed(1)),
      totalSeconds: Number(total.toFixed(1)),
      pushedShareOfLineRate: Number((pushed / r.sendSeconds / (BAUD / 10)).toFixed(3)),
      restEstimateSeconds: Math.round(r.restSeconds),
    };
  } finally {
    line.close();
    await login.stop();
    await relay.stop();
  }
}

export async function runFlashBootstrapBench(): Promise<object> {
  const why = unavailable();
  if (why !== undefined) return { skipped: why };
  const dir = await mkdtemp(join(tmpdir(), 'akb-bench-bootstrap-'));
  const board = makeBoard();
  const results: Record<string, object> = {};
  try {
    for (const kind of ['python3', 'sh'] as const) {
      board.onlyPrograms(kind === 'sh' ? ['base64', 'sha256sum', 'gzip', 'node'] : ['python3', 'node']);
      const relay = await LineRelay.start({ baud: BAUD, dir: await mkdtemp(join(dir, 'relay-')) });
      const login = await board.consoleOn(relay.boardPath);
      const line = openPtyLine(relay.hostPath);
      try {
        const shell = await loginShell(new ConsoleText(line), { user: board.user, password: board.password, timeoutMs: 20_000 });
        const tools = await detectTools(shell, kind);
        const rx = await writeReceiver(shell, tools, board.home);
        const data = randomBytes(PAYLOAD);
        const started = performance.now();
        const sent = await sendFile(shell, tools, rx, join(board.home, 'payload'), data, { gzip: false, baud: BAUD });
        const seconds = (performance.now() - started) / 1000;
        const bytesPerSecond = PAYLOAD / seconds;
        results[kind] = {
          baud: BAUD,
          bytes: PAYLOAD,
          seconds: Number(seconds.toFixed(2)),
          bytesPerSecond: Math.round(bytesPerSecond),
          shareOfLineRate: Number((bytesPerSecond / (BAUD / 10)).toFixed(3)),
          wireBytes: sent.wireBytes,
          resends: sent.resends,
        };
        shell.console.close();
      } finally {
        line.close();
        await login.stop();
        await relay.stop();
      }
    }
    results.agent = await wholeBootstrap(dir, board);
  } finally {
    board.remove();
    await rm(dir, { recursive: true, force: true });
  }
  return { payload: 'random bytes (incompressible)', target: 'shareOfLineRate >= 0.5', ...results };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runFlashBootstrapBench(), null, 2));
}
