/**
 * The bootstrap against consoles that are not what it expects, each a real program behind socat on a pty
 * (no root needed): a flood of bytes that never forms a prompt (`yes`), a fake shell prompt that swallows
 * every command, garbage bytes from /dev/urandom, and a login that asks for a user when none was given.
 * Each ends in one line (AkbError) within its time limits, holding at most MAX_CONSOLE_BUFFER characters.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { ConsoleText, MAX_CONSOLE_BUFFER, loginShell } from '../../toolkit/flash/src/bootstrap/index.js';
import { requireProgram } from '../support/programs.js';
import { socatPty } from '../support/pty.js';
import { openPtyLine } from './bootstrap-line.js';

const hasSocat = requireProgram('socat', 'socat');
let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function consoleOf(name: string, script: string): Promise<ConsoleText> {
  const file = join(dir, `${name}.sh`);
  await writeFile(file, script);
  const pty = await socatPty(dir, name, `sh ${file}`);
  cleanups.push(() => pty.stop());
  const line = openPtyLine(pty.path);
  cleanups.push(() => line.close());
  const text = new ConsoleText(line);
  cleanups.push(() => text.close());
  return text;
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

describe.skipIf(!hasSocat)('the bootstrap against hostile consoles', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-bootstrap-hostile-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a flood that never forms a prompt: one line, the buffer bounded', async () => {
    // Thrown: `yes` on the console, megabytes of "y" lines.
    const text = await consoleOf('flood', 'exec yes\n');
    const f = await failure(loginShell(text, { user: 'pi', password: 'x', timeoutMs: 1500, listenMs: 300 }));
    expect(f.code).toBe('CONSOLE_SILENT');
    expect(f.line).not.toContain('\n');
    expect(text.received).toBeGreaterThan(MAX_CONSOLE_BUFFER);
    expect((JSON.parse(text.tail(Number.MAX_SAFE_INTEGER)) as string).length).toBeLessThanOrEqual(MAX_CONSOLE_BUFFER);
  });

  it('a fake prompt that swallows every command: one line', async () => {
    // Thrown: a console that prints "$ " and reads lines without ever answering them.
    const text = await consoleOf('fake', "printf '$ '\nwhile read -r l; do :; done\n");
    const f = await failure(loginShell(text, { timeoutMs: 1500, listenMs: 500 }));
    expect(f.code).toBe('CONSOLE_SILENT');
    expect(f.line).toMatch(/never answered a command after the login/u);
  });

  it('random bytes: one line', async () => {
    // Thrown: /dev/urandom on the console (control characters, no prompt).
    const text = await consoleOf('random', 'exec head -c 2000000 /dev/urandom\n');
    const f = await failure(loginShell(text, { user: 'pi', password: 'x', timeoutMs: 1500, listenMs: 300 }));
    expect(['CONSOLE_SILENT', 'BOOTSTRAP_LOGIN_REFUSED', 'BOOTSTRAP_LOGIN']).toContain(f.code);
    expect(f.line).not.toContain('\n');
  });

  it('a login prompt and no user given: one line naming the flag', async () => {
    // Thrown: "board login: " with no --user and no way to ask.
    const text = await consoleOf('login', "printf 'board login: '\nsleep 30\n");
    const f = await failure(loginShell(text, { timeoutMs: 1500, listenMs: 500 }));
    expect(f.code).toBe('BOOTSTRAP_LOGIN');
    expect(f.line).toMatch(/asks for a user name .*--user/u);
  });
});
