/**
 * The bootstrap through the pacing relay of the serial tests (test/support/line-relay.ts: both directions
 * paced to 921600 baud, seeded faults), node-serialport on the host end and a real /bin/login on the board
 * end (bootstrap-board.ts). Thrown at it, once logged in: bytes corrupted at 1e-4 and dropped at 2e-5 in
 * both directions (commands, chunks and the board's answers), and the line cut for 3 s in the middle of
 * the agent's push. The agent's files must arrive byte-identical to the bundle's (checked on the board by
 * SHA-256, compared here byte for byte) and the agent must start. Skipped unless root; required under
 * AKB_REQUIRE_ALL=1.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBootstrap } from '../../toolkit/flash/src/bootstrap/index.js';
import { openSerialLine } from '../../toolkit/src/commands/devices-serial.js';
import { REPO } from '../install/slot-bundle.js';
import { LineRelay } from '../support/line-relay.js';
import { makeBoard, unavailable, type Board } from './bootstrap-board.js';

const why = unavailable();
if (why !== undefined && process.env.AKB_REQUIRE_ALL === '1') throw new Error(`bootstrap relay tests: ${why}`);

const BAUD = 921_600;
let dir: string;
let bundle: string;
let board: Board;

describe.skipIf(why !== undefined)(`akb flash --bootstrap through the pacing relay with faults${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-bootstrap-relay-'));
    board = makeBoard();
    const akb = (a: string[]) => spawnSync(process.execPath, ['toolkit/bin/akb.js', ...a], { cwd: REPO, encoding: 'utf8' });
    expect(akb(['keys', 'generate', '--out', dir, '--name', 'release']).status).toBe(0);
    bundle = join(dir, 'b.akb');
    const packed = akb(['package', '--profile', 'generic-x64', '--set', 'akb-k256', '--key', join(dir, 'release.key'), '-o', bundle, '--no-node', '--version', '1.0.0']);
    expect(packed.status, packed.stderr).toBe(0);
    await mkdir(join(dir, 'unpacked'));
    expect(spawnSync('tar', ['xzf', bundle, '-C', join(dir, 'unpacked')]).status).toBe(0);
  }, 60_000);

  afterAll(async () => {
    board?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('byte errors and drops both ways and a 3 s cut mid-push: chunks sent again, the agent arrives intact and starts', async () => {
    board.onlyPrograms(undefined);
    const relay = await LineRelay.start({ baud: BAUD, dir: await mkdtemp(join(dir, 'relay-')), seed: 11 });
    const login = await board.consoleOn(relay.boardPath);
    const port = await openSerialLine(relay.hostPath, BAUD);
    let cut = false;
    try {
      const steps: string[] = [];
      const result = await runBootstrap(port.line, {
        bundle,
        trustedKeys: [],
        baud: BAUD,
        user: board.user,
        password: board.password,
        boardDir: join(board.home, 'agent'),
        agentRoot: join(board.home, 'root'),
        timeoutMs: 20_000,
        onStep: (s) => {
          steps.push(s);
          // Thrown: from the login on, each byte either way corrupted (1e-4) or dropped (2e-5).
          if (s.startsWith('logged in')) Object.assign(relay.faults, { byteErrorRate: 1e-4, dropRate: 2e-5 });
        },
        onProgress: (path, held, total) => {
          // Thrown: nothing passes either way for 3 s, a third into the agent's push.
          if (!cut && path === 'app/akb-agent.mjs' && held > total / 3) {
            cut = true;
            relay.cut(3000);
          }
        },
      });
      for (const path of ['app/akb-agent.mjs', 'bin/akb-agent', 'profile.json']) {
        expect((await readFile(join(board.home, 'agent', path))).equals(await readFile(join(dir, 'unpacked/payload', path))), path).toBe(true);
      }
      expect(steps.join('\n')).toMatch(/agent started: .*active none/u);
      const agent = result.sent[0]!;
      expect(cut).toBe(true);
      expect(relay.counts.corrupted + relay.counts.dropped).toBeGreaterThan(0);
      expect(agent.resends).toBeGreaterThan(0);
      expect(agent.silences).toBeGreaterThan(0);
      console.log(JSON.stringify({ relay: relay.counts, agent: { bytes: agent.bytes, pushed: agent.pushedBytes, chunks: agent.chunks, resends: agent.resends, naks: agent.naks, silences: agent.silences }, seconds: result.sendSeconds }));
      result.shell.console.close();
    } finally {
      await port.close();
      await login.stop();
      await relay.stop();
    }
  }, 180_000);
});
