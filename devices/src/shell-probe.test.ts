/**
 * Detection through a shell on a serial console, for real: socat links a pseudo-terminal to `sh -i` on a
 * pty of its own (it echoes and prompts, as a getty's shell does), the probe's root points the commands at
 * a board's fixture folder, and the ranking must equal the one read from that folder directly. Then
 * consoles that misbehave: nothing on the other side, a login prompt, random bytes, a flood.
 */
import { closeSync, constants, existsSync, openSync, write } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import { isAkbError } from '@akb/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { requireProgram } from '../../test/support/programs.js';
import { socatPty, type SocatPty } from '../../test/support/pty.js';
import { packageRoot } from './catalogue.js';
import { detectProfile, directoryProbe } from './detect.js';
import { ShellProbe, probeOverShell, shellQuote, type ByteLine } from './shell-probe.js';

const fixtures = join(packageRoot, 'fixtures');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Opens a pty as a ByteLine with Node's own tty stream (this package has no serial library). */
function openLine(path: string): ByteLine {
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  const input = new ReadStream(fd);
  cleanups.push(() => {
    input.destroy();
    closeSync(fd);
  });
  return {
    write: (bytes) => new Promise<void>((resolve, reject) => write(fd, bytes, (error) => (error ? reject(error) : resolve()))),
    onData: (listener) => {
      input.on('data', listener);
      return () => input.off('data', listener);
    },
  };
}

async function console_(program: string | undefined): Promise<SocatPty> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-console-'));
  const pty = await socatPty(dir, 'tty', program);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => pty.stop());
  return pty;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; line: string }> {
  try {
    await promise;
  } catch (e) {
    if (!isAkbError(e)) throw e;
    return { code: e.code, line: e.toLine() };
  }
  throw new Error('expected a failure');
}

/** Writes a shell script for a console to run (socat's address syntax cannot carry every character). */
async function script(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-console-script-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, name), text);
  return join(dir, name);
}

const ranking = (matches: { profile: { id: string }; score: number }[]): [string, number][] => matches.map((m) => [m.profile.id, m.score]);

describe('shellQuote', () => {
  it('quotes a path as one word and refuses what the terminal would act on', () => {
    expect(shellQuote("/a b/it's")).toBe("'/a b/it'\\''s'");
    // Thrown at it: a newline (would end the command line), ^C (SIGINT from the tty), an overlong path.
    for (const hostile of ['/proc/cpuinfo\nreboot', '/x\u0003', `/${'a'.repeat(2000)}`]) expect(() => shellQuote(hostile)).toThrow(/control characters/);
  });
});

describe.skipIf(!requireProgram('socat', 'socat'))('detection over a serial console (socat pty)', () => {
  it.each(['rpi-zero-2w', 'rpi-4-armhf', 'jetson-orin-nano'])('ranks the %s fixture through sh -i exactly as from the folder', async (board) => {
    const pty = await console_('sh -i');
    const root = join(fixtures, board);
    const overShell = await probeOverShell(openLine(pty.path), { root }, (probe) => detectProfile(probe));
    expect(overShell[0]?.profile.id).toBe(board);
    expect(ranking(overShell)).toEqual(ranking(await detectProfile(directoryProbe(root))));
  });

  it('reads uname -m and the userland of the shell it reaches, and survives hostile paths', async () => {
    const pty = await console_('sh -i');
    const dir = await mkdtemp(join(tmpdir(), 'akb-hostile-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const probe = new ShellProbe(openLine(pty.path));
    cleanups.push(() => probe.close());
    await probe.hello();
    const { machine } = await import('node:os');
    expect((await probe.machine())?.trim()).toBe(machine());
    expect(await probe.userland()).toBe(process.arch);
    // Thrown at it: paths that try to break out of the quotes and run a command of their own.
    const pwned = join(dir, 'pwned');
    for (const hostile of [`/x'; touch '${pwned}`, `/x"; touch "${pwned}`, `/$(touch ${pwned})`, `/\`touch ${pwned}\``]) {
      expect(await probe.exists(hostile)).toBe(false);
      await expect(probe.readFile(hostile)).rejects.toThrow(/not readable/);
    }
    expect(existsSync(pwned)).toBe(false);
    // A file that is there, with a NUL byte and CR/LF that a terminal would otherwise mangle.
    expect(await probe.readFile(join(fixtures, 'rpi-5', 'proc/device-tree/model'))).toBe('Raspberry Pi 5 Model B Rev 1.0\0');
  });

  it('says so in one line when nothing answers on the line', async () => {
    // Thrown at it: a pty whose other side is a second pty that nobody reads or writes.
    const pty = await console_(undefined);
    const result = await failure(probeOverShell(openLine(pty.path), { idleMs: 300 }, (probe) => detectProfile(probe)));
    expect(result.code).toBe('CONSOLE_SILENT');
    expect(result.line).toMatch(/^nothing came back from the serial console in 300 ms \(check the port, the baud rate/);
  });

  it('recognizes a login prompt', async () => {
    // Thrown at it: a console that shows "raspberrypi login: " and ignores what it is sent.
    const pty = await console_(`sh ${await script('login.sh', "printf 'raspberrypi login: '\nsleep 30\n")}`);
    expect((await failure(probeOverShell(openLine(pty.path), { idleMs: 500 }, (probe) => detectProfile(probe)))).code).toBe('CONSOLE_LOGIN');
  });

  it('recognizes bytes that are not text (a wrong baud rate)', async () => {
    // Thrown at it: 4000 random bytes, then silence.
    const pty = await console_('head -c 4000 /dev/urandom; sleep 30');
    const result = await failure(probeOverShell(openLine(pty.path), { idleMs: 500 }, (probe) => detectProfile(probe)));
    expect(result.code).toBe('CONSOLE_GARBAGE');
    expect(result.line).toContain('baud rate');
  });

  it('stops a flood at its bound', async () => {
    // Thrown at it: `yes`, an endless stream of lines.
    const pty = await console_('yes');
    const result = await failure(probeOverShell(openLine(pty.path), { idleMs: 2000 }, (probe) => detectProfile(probe)));
    expect(result.code).toBe('CONSOLE_FLOOD');
  });

  it('refuses an answer that is not the command output', async () => {
    // Thrown at it: a fake shell that answers every command with its markers around text that is not hex.
    const fake = await script(
      'fake.sh',
      [
        'while IFS= read -r line; do',
        `  id=$(printf '%s' "$line" | sed -n "s/.*'@@akb-\\([0-9a-f]*\\)' '-begin@@'.*/\\1/p")`,
        `  [ -n "$id" ] && printf '@@akb-%s-begin@@\\nnot hex\\n@@akb-%s-end@@ 0\\n' "$id" "$id"`,
        'done',
        '',
      ].join('\n'),
    );
    const pty = await console_(`sh ${fake}`);
    const result = await failure(probeOverShell(openLine(pty.path), { idleMs: 1000 }, (probe) => detectProfile(probe)));
    expect(result.code).toBe('CONSOLE_GARBAGE');
  });
});
