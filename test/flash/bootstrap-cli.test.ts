/**
 * The `--bootstrap` branch of `akb flash` (toolkit/src/commands/flash-bootstrap.ts) through a real
 * node-serialport opened on the socat pty of a real login (bootstrap-board.ts): the trusted key goes to
 * the board with the agent, `--json` gives step, progress and summary lines, the agent on the board
 * trusts the key it was given, and the agent's receiver is then running on the console's tty (the
 * hand-over to the framed protocol); then `akb flash --bootstrap` itself as a process, to a committed
 * install. Thrown at it: no --password with no terminal to ask on (one line); through the CLI a wrong
 * password (one line, exit 3) and --user without --bootstrap (one line, exit 2). Skipped unless root; required under AKB_REQUIRE_ALL=1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { openSerialLine } from '../../toolkit/src/commands/devices-serial.js';
import { flashBootstrap, type FlashBootstrapArgs } from '../../toolkit/src/commands/flash-bootstrap.js';
import { REPO } from '../install/slot-bundle.js';
import { startAedes } from '../support/index.js';
import { makeBoard, unavailable, type Board } from './bootstrap-board.js';
import { runNode } from '../support/run.js';

const why = unavailable();
if (why !== undefined && process.env.AKB_REQUIRE_ALL === '1') throw new Error(`bootstrap CLI tests: ${why}`);

let dir: string;
let bundle: string;
let board: Board;

async function failure(p: Promise<unknown>): Promise<{ code: string; line: string }> {
  try {
    await p;
  } catch (e) {
    if (!isAkbError(e)) throw e;
    return { code: e.code, line: e.toLine() };
  }
  throw new Error('expected a failure');
}

function akbAsync(a: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(['toolkit/bin/akb.js', ...a], { cwd: REPO });
}

function args(extra: Partial<FlashBootstrapArgs> = {}): FlashBootstrapArgs {
  return { baud: 921_600, device: 'bootstrap-test', bundle, user: board.user, password: board.password, trust: [join(dir, 'release.pub')], boardDir: join(board.home, 'agent'), root: join(board.home, 'root'), json: true, ...extra };
}

describe.skipIf(why !== undefined)(`akb flash --bootstrap through node-serialport${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-bootstrap-cli-'));
    board = makeBoard();
    const akb = (a: string[]) => spawnSync(process.execPath, ['toolkit/bin/akb.js', ...a], { cwd: REPO, encoding: 'utf8' });
    expect(akb(['keys', 'generate', '--out', dir, '--name', 'release']).status).toBe(0);
    bundle = join(dir, 'b.akb');
    const packed = akb(['package', '--profile', 'generic-x64', '--set', 'akb-k256', '--key', join(dir, 'release.key'), '-o', bundle, '--no-node', '--version', '1.0.0']);
    expect(packed.status, packed.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    board?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends the agent and the trusted key; --json lines; the agent on the board trusts that key', async () => {
    const pty = await board.console(dir);
    const out: string[] = [];
    try {
      const port = await openSerialLine(pty.path, 921_600);
      const result = await flashBootstrap(args(), { out: (l) => out.push(l), err: (l) => out.push(l) }, port.line);
      const key = result.sent.find((s) => s.path.startsWith('keys/'))!;
      expect(key.path).toMatch(/^keys\/[0-9a-f]{16}\.pub$/u);
      expect(await readFile(join(board.home, 'agent', key.path), 'utf8')).toBe(await readFile(join(dir, 'release.pub'), 'utf8'));
      const events = out.map((l) => JSON.parse(l) as { event: string; path?: string; bytes?: number; total?: number });
      expect(events.some((e) => e.event === 'progress' && e.path === 'app/akb-agent.mjs' && e.bytes === e.total)).toBe(true);
      expect(events.at(-1)).toMatchObject({ event: 'bootstrapped', receiver: 'python3' });
      // the agent installed on the board verifies the bundle with the key it was sent and writes a slot
      // (its health check then fails: no broker listens at port 1, so it rolls back)
      const agent = spawnSync(join(board.home, 'agent/bin/akb-agent'), ['install', bundle, '--root', join(dir, 'board-root'), '--trust', join(board.home, 'agent/keys'), '--health-timeout', '1', '--broker', 'mqtt://127.0.0.1:1', '--device', 'bootstrap-test'], { encoding: 'utf8' });
      expect(agent.stdout + agent.stderr).not.toMatch(/untrusted|not trusted|BUNDLE_UNTRUSTED_KEY/iu);
      expect(agent.stdout).toMatch(/writing/u);
      // handed over: the shell started the agent's receiver on the console's tty, its log in receive.log
      await expect.poll(() => readFile(join(board.home, 'agent/receive.log'), 'utf8').then(() => true, () => false), { timeout: 20_000 }).toBe(true);
      await port.close();
    } finally {
      await pty.stop();
    }
  }, 120_000);

  it('no --password and no terminal to ask on: one line', async () => {
    const pty = await board.console(dir);
    try {
      // Thrown: the console asks for a password; the flags give none and stdin is not a terminal.
      const port = await openSerialLine(pty.path, 921_600);
      const f = await failure(flashBootstrap(args({ password: undefined }), { out: () => undefined, err: () => undefined }, port.line));
      await port.close();
      expect(f.code).toBe('BOOTSTRAP_LOGIN');
      expect(f.line).toMatch(/no terminal is attached .*--password/u);
    } finally {
      await pty.stop();
    }
  }, 60_000);

  it('akb flash --bootstrap as a process: logs in, sends the agent, then the bundle by the framed protocol: committed', async () => {
    const pty = await board.console(dir);
    const broker = await startAedes();
    try {
      const run = await akbAsync(['flash', bundle, '--port', pty.path, '--bootstrap', '--user', board.user, '--password', board.password, '--trust', join(dir, 'release.pub'),
        '--board-dir', join(board.home, 'cli-agent'), '--root', join(board.home, 'cli-root'), '--device', 'bootstrap-cli', '--broker', broker.url]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/akb flash: the install agent is on the board in .*cli-agent/u);
      expect(run.stdout).toMatch(/^akb: flashed .*slot A committed/mu);
    } finally {
      await broker.close();
      await pty.stop();
    }
  }, 180_000);

  it('akb flash --bootstrap with a wrong password: one line, exit 3', async () => {
    const pty = await board.console(dir);
    try {
      // Thrown: the right user, a wrong password.
      const run = await akbAsync(['flash', bundle, '--port', pty.path, '--bootstrap', '--user', board.user, '--password', 'wrong', '--trust', join(dir, 'release.pub')]);
      expect(run.code).toBe(3);
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^akb: the board refused the login/u)]);
    } finally {
      await pty.stop();
    }
  }, 60_000);

  it('--user without --bootstrap: one line, exit 2', async () => {
    // Thrown: a bootstrap option on a plain framed flash.
    const run = await akbAsync(['flash', bundle, '--port', join(dir, 'none'), '--user', 'pi']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^akb: --user only goes? with --bootstrap/u);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
