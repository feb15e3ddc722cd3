/**
 * The whole `akb flash --bootstrap` path over one serial port (node-serialport on the socat pty of a real
 * login, bootstrap-board.ts): the agent goes through the shell, starts as `akb-agent receive` on the
 * console's tty, and the framed sender (sendBundle, the same open port) delivers the packaged bundle,
 * which the board's agent verifies with the key the bootstrap gave it, installs into slot A and health-
 * checks with the slot's own akb-edge --probe on an aedes broker of the test's: committed, the slot's
 * files byte-identical to the bundle's. Then the same bundle again by the same path: a downgrade (equal
 * version), refused, slot A and state.json unchanged. Skipped unless root; required under AKB_REQUIRE_ALL=1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBundle } from '@akb/flash';
import { openSerialLine } from '../../toolkit/src/commands/devices-serial.js';
import { flashBootstrap, type FlashBootstrapArgs } from '../../toolkit/src/commands/flash-bootstrap.js';
import { startAedes, type AedesHandle } from '../support/index.js';
import { REPO } from '../install/slot-bundle.js';
import { makeBoard, unavailable, type Board } from './bootstrap-board.js';

const why = unavailable();
if (why !== undefined && process.env.AKB_REQUIRE_ALL === '1') throw new Error(`bootstrap framed tests: ${why}`);

let dir: string;
let bundle: string;
let board: Board;
let broker: AedesHandle;

describe.skipIf(why !== undefined)(`akb flash --bootstrap, then the framed protocol${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-bootstrap-framed-'));
    board = makeBoard();
    broker = await startAedes();
    const akb = (a: string[]) => spawnSync(process.execPath, ['toolkit/bin/akb.js', ...a], { cwd: REPO, encoding: 'utf8' });
    expect(akb(['keys', 'generate', '--out', dir, '--name', 'release']).status).toBe(0);
    bundle = join(dir, 'b.akb');
    const packed = akb(['package', '--profile', 'generic-x64', '--set', 'akb-k256', '--key', join(dir, 'release.key'), '-o', bundle, '--no-node', '--version', '1.0.0']);
    expect(packed.status, packed.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    board?.remove();
    await broker?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const flash = async (): Promise<Awaited<ReturnType<typeof sendBundle>>> => {
    const pty = await board.console(dir);
    const port = await openSerialLine(pty.path, 921_600);
    try {
      const args: FlashBootstrapArgs = {
        baud: 921_600, bundle, user: board.user, password: board.password, trust: [join(dir, 'release.pub')],
        boardDir: join(board.home, 'agent'), root: join(board.home, 'root'), device: 'bootstrap-framed', broker: broker.url, json: true,
      };
      await flashBootstrap(args, { out: () => undefined, err: () => undefined }, port.line);
      return await sendBundle(port.line, bundle, { baud: 921_600 });
    } finally {
      await port.close();
      await pty.stop();
    }
  };

  it('installs the bundle on the board through the shell-sent agent: committed into slot A', async () => {
    const report = await flash();
    expect(report.status, report.message).toBe('committed');
    const state = JSON.parse(await readFile(join(board.home, 'root/state.json'), 'utf8')) as { active: string; trial: boolean };
    expect(state).toMatchObject({ active: 'A', trial: false });
    expect((await readFile(join(board.home, 'root/slot-a/app/akb-agent.mjs'))).equals(await readFile(join(board.home, 'agent/app/akb-agent.mjs')))).toBe(true);
  }, 240_000);

  it('the same version again by the same path: refused, nothing changed', async () => {
    const before = await readFile(join(board.home, 'root/state.json'));
    // Thrown: version 1.0.0 again while 1.0.0 runs (a downgrade without --force).
    const report = await flash();
    expect(report.status).toBe('refused');
    expect((await readFile(join(board.home, 'root/state.json'))).equals(before)).toBe(true);
  }, 240_000);
});
