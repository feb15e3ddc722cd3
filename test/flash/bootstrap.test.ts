/**
 * `runBootstrap` against a real login: a throwaway user behind /bin/login on a socat pty (bootstrap-board.ts),
 * the host end opened as the serial port. A real bundle (akb package --no-node: this machine's node runs
 * the agent) is pushed: the agent's files must arrive byte-identical to the bundle's, checked on the board
 * by SHA-256, and the agent must start there. Thrown at it: a board with python3 but no base64 or sha256sum,
 * one with only sh, base64 and sha256sum (PATH narrowed by the user's profile); bytes flipped and dropped on
 * the way to the board at 1e-4 and 2e-5 a byte (chunks sent again); the output path of a receiver's start
 * command damaged on the way (nothing written there, the receiver started again); a board without Node.js (the bundle's
 * node/bin/node goes first; without one in the bundle: one line); a wrong password (one line); a console
 * where nothing answers (one line). Skipped unless root (useradd, login); required under AKB_REQUIRE_ALL=1.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { loadPrivateKey, writeBundle } from '@akb/flash';
import { runBootstrap, type BootstrapOptions, type BootstrapResult } from '../../toolkit/flash/src/bootstrap/index.js';
import { socatPty } from '../support/pty.js';
import { REPO } from '../install/slot-bundle.js';
import { makeBoard, unavailable, type Board } from './bootstrap-board.js';
import { openPtyLine, type PtyLine } from './bootstrap-line.js';

const why = unavailable();
if (why !== undefined && process.env.AKB_REQUIRE_ALL === '1') throw new Error(`bootstrap tests: ${why}`);

let dir: string;
let bundle: string;
let board: Board;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openConsole(): Promise<PtyLine> {
  const pty = await board.console(dir);
  const line = openPtyLine(pty.path);
  cleanups.push(() => pty.stop());
  cleanups.push(() => line.close());
  return line;
}

const options = (extra: Partial<BootstrapOptions> = {}): BootstrapOptions => ({
  bundle,
  trustedKeys: [],
  baud: 115_200,
  user: board.user,
  password: board.password,
  boardDir: join(board.home, 'agent'),
  agentRoot: join(board.home, 'akb-root'),
  ...extra,
});

async function expectAgentFiles(result: BootstrapResult): Promise<void> {
  for (const path of ['app/akb-agent.mjs', 'bin/akb-agent', 'profile.json']) {
    expect((await readFile(join(board.home, 'agent', path))).equals(await readFile(join(dir, 'unpacked/payload', path))), path).toBe(true);
  }
  expect(result.sent.map((s) => s.path)).toEqual(['app/akb-agent.mjs', 'bin/akb-agent', 'profile.json']);
}

async function failure(p: Promise<unknown>): Promise<{ code: string; line: string }> {
  try {
    await p;
  } catch (e) {
    if (!isAkbError(e)) throw e;
    return { code: e.code, line: e.toLine() };
  }
  throw new Error('expected a failure');
}

describe.skipIf(why !== undefined)(`akb flash --bootstrap over a real login${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-bootstrap-'));
    board = makeBoard();
    const akb = (args: string[]) => spawnSync(process.execPath, ['toolkit/bin/akb.js', ...args], { cwd: REPO, encoding: 'utf8' });
    expect(akb(['keys', 'generate', '--out', dir, '--name', 'release']).status).toBe(0);
    bundle = join(dir, 'b.akb');
    const packed = akb(['package', '--profile', 'generic-x64', '--set', 'akb-k256', '--key', join(dir, 'release.key'), '-o', bundle, '--no-node', '--version', '1.0.0']);
    expect(packed.status, packed.stderr).toBe(0);
    spawnSync('mkdir', ['-p', join(dir, 'unpacked')]);
    expect(spawnSync('tar', ['xzf', bundle, '-C', join(dir, 'unpacked')]).status).toBe(0);
  }, 60_000);

  afterAll(async () => {
    board?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('logs in, picks python3, sends the agent compressed and checked, and starts it', async () => {
    board.onlyPrograms(undefined);
    const steps: string[] = [];
    const result = await runBootstrap(await openConsole(), options({ onStep: (s) => steps.push(s) }));
    expect(result.receiver).toBe('python3');
    await expectAgentFiles(result);
    expect(steps.join('\n')).toMatch(/agent started: .*active none/u);
    expect(steps.join('\n')).toMatch(/follows through the framed protocol: about \d+ min at 115200 baud/u);
    result.shell.console.close();
  }, 120_000);

  it('a board with python3 but no base64 or sha256sum: the python3 receiver, which also unpacks (zlib)', async () => {
    board.onlyPrograms(['python3', 'node']);
    const result = await runBootstrap(await openConsole(), options());
    expect(result.receiver).toBe('python3');
    expect(result.tools).not.toContain('base64');
    expect(result.sent[0]!.pushedBytes).toBeLessThan(result.sent[0]!.bytes);
    await expectAgentFiles(result);
    result.shell.console.close();
  }, 120_000);

  it('a board with only sh, base64, sha256sum and gzip: the sh receiver', async () => {
    board.onlyPrograms(['base64', 'sha256sum', 'gzip', 'node']);
    const result = await runBootstrap(await openConsole(), options());
    expect(result.receiver).toBe('sh');
    expect(result.tools).not.toContain('python3');
    await expectAgentFiles(result);
    result.shell.console.close();
  }, 180_000);

  it.each([
    ['python3', [] as string[]],
    ['sh', ['base64', 'sha256sum', 'gzip', 'node']],
  ])('bytes flipped (1e-4) and dropped (2e-5) on the way to the board: damaged chunks are sent again (%s)', async (kind, programs) => {
    board.onlyPrograms(kind === 'sh' ? programs : ['python3', 'node']);
    const line = await openConsole();
    // Thrown: after the login, each byte to the board has one bit flipped with chance 1e-4 or is dropped with chance 2e-5.
    const result = await runBootstrap(line, options({ onStep: (s) => s.startsWith('logged in') && (line.faults = { flip: 1e-4, drop: 2e-5, seed: 7 }) }));
    const resends = result.sent.reduce((n, s) => n + s.resends, 0);
    console.log(kind, JSON.stringify({ flipped: line.flipped, dropped: line.dropped, sendSeconds: result.sendSeconds, sent: result.sent.map(({ path, bytes, pushedBytes, chunks, resends: r, naks, silences }) => ({ path, bytes, pushedBytes, chunks, resends: r, naks, silences })) }));
    expect(line.flipped + line.dropped).toBeGreaterThan(0);
    expect(resends).toBeGreaterThan(0);
    await expectAgentFiles(result);
    result.shell.console.close();
  }, 240_000);

  it.each([
    ['python3', ['python3', 'node']],
    ['sh', ['base64', 'sha256sum', 'gzip', 'node']],
  ])('a byte error in the path a receiver is started with: it writes nothing there and is started again (%s)', async (kind, programs) => {
    board.onlyPrograms(programs);
    const line = await openConsole();
    // Thrown: the command starting the receiver for profile.json reaches the board with one character of
    // its output path changed (.akb-in -> .akb-im), as a flipped bit would. It once pushed the whole file
    // to the damaged path and failed unpacking the real one (CI: FileNotFoundError ... profile.json.akb-in).
    const write = line.write.bind(line);
    let damaged = 0;
    line.write = (bytes) => {
      const text = Buffer.from(bytes).toString('latin1');
      if (damaged === 0 && text.includes('stty -echo') && text.includes("profile.json.akb-in'")) {
        damaged++;
        return write(Buffer.from(text.replace("profile.json.akb-in'", "profile.json.akb-im'"), 'latin1'));
      }
      return write(bytes);
    };
    const result = await runBootstrap(line, options());
    expect(damaged).toBe(1);
    await expectAgentFiles(result);
    expect(readdirSync(join(board.home, 'agent')).filter((f) => f.includes('akb-im'))).toEqual([]);
    result.shell.console.close();
  }, 180_000);

  it('a board without Node.js gets the bundle\'s node/bin/node first, with the time it takes; the agent runs on it', async () => {
    // node/bin/node here is a launcher of this machine's node standing for the bundled runtime (98 MB would take minutes on a pty)
    const withNode = join(dir, 'with-node.akb');
    const payload = join(dir, 'unpacked/payload');
    await writeBundle(withNode, {
      name: 'akb-edge-test',
      version: '1.0.0',
      targetProfiles: ['generic-x64'],
      created: new Date('2026-01-01T00:00:00Z'),
      runtime: { arch: 'x64' },
      files: [
        { path: 'app/akb-agent.mjs', role: 'other', source: { file: join(payload, 'app/akb-agent.mjs') } },
        { path: 'bin/akb-agent', role: 'script', mode: 0o755, source: { file: join(payload, 'bin/akb-agent') } },
        { path: 'node/bin/node', role: 'runtime', mode: 0o755, source: { bytes: Buffer.from(`#!/bin/sh\nexec ${process.execPath} "$@"\n`) } },
        { path: 'profile.json', role: 'config', source: { file: join(payload, 'profile.json') } },
      ],
      key: await loadPrivateKey(join(dir, 'release.key')),
    });
    board.onlyPrograms(['python3']);
    const steps: string[] = [];
    const result = await runBootstrap(await openConsole(), options({ bundle: withNode, onStep: (s) => steps.push(s) }));
    expect(result.sent.map((s) => s.path)).toContain('node/bin/node');
    expect(steps.join('\n')).toMatch(/Node\.js none/u);
    expect(steps.join('\n')).toMatch(/no suitable Node\.js: node\/bin\/node \(0\.0 MB\) must go through the shell first/u);
    expect(steps.join('\n')).toMatch(/\d+ files, \d+ bytes to push compressed: about \d+ s at 115200 baud/u);
    expect(steps.join('\n')).toMatch(/agent started: .*active none/u);
    result.shell.console.close();
  }, 120_000);

  it('a board without Node.js and a bundle without one: one line, nothing written', async () => {
    board.onlyPrograms(['python3']);
    // Thrown: a --no-node bundle for a board whose PATH has no node.
    const f = await failure(runBootstrap(await openConsole(), options({ boardDir: join(board.home, 'never') })));
    expect(f.code).toBe('BOOTSTRAP_NO_NODE');
    await expect(readFile(join(board.home, 'never'))).rejects.toThrow();
  }, 60_000);

  it('a wrong password is one line, and nothing is written on the board', async () => {
    board.onlyPrograms(undefined);
    // Thrown: the right user with a wrong password.
    const f = await failure(runBootstrap(await openConsole(), options({ password: 'not-the-password', boardDir: join(board.home, 'never') })));
    expect(f.code).toBe('BOOTSTRAP_LOGIN_REFUSED');
    expect(f.line).not.toContain('\n');
    await expect(readFile(join(board.home, 'never'))).rejects.toThrow();
  }, 60_000);

  it('a console where nothing answers is one line', async () => {
    // Thrown: a pty whose other end nobody reads or writes.
    const pty = await socatPty(dir, 'dead', undefined);
    cleanups.push(() => pty.stop());
    const line = openPtyLine(pty.path);
    cleanups.push(() => line.close());
    const f = await failure(runBootstrap(line, options({ timeoutMs: 1500, listenMs: 300 })));
    expect(f.code).toBe('CONSOLE_SILENT');
    expect(f.line).toMatch(/never answered a newline/u);
  }, 30_000);
});
