/**
 * A "fresh board" for the bootstrap tests and bench: a throwaway user (useradd, a password set with
 * chpasswd; removed with its home by `remove()`) whose login shell is /bin/sh, reached through a real
 * `/bin/login` on a pty of its own behind socat, as a getty would run it on a serial console. Its
 * `~/.profile` can narrow PATH to a folder of symlinks, so the board lacks python3, or base64 and
 * sha256sum, as a busybox board would. Needs root (useradd, login); `unavailable()` says why not.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findProgram } from '../support/programs.js';
import { socatPty, type SocatPty } from '../support/pty.js';

/** Why a board cannot be made here, or undefined. */
export function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a throwaway user and run login (run as root, as CI does)';
  for (const p of ['socat', 'useradd', 'userdel', 'chpasswd']) if (findProgram(p, `${process.env.PATH ?? ''}:/usr/sbin:/sbin`) === undefined) return `${p} is not installed`;
  return undefined;
}

export interface Board {
  user: string;
  password: string;
  home: string;
  /** Narrows the login's PATH to these programs (symlinks in ~/path-<name>), or restores the full PATH. */
  onlyPrograms(programs: readonly string[] | undefined): void;
  /** A console: socat with login on one end; the path to open as the serial port. */
  console(dir: string): Promise<SocatPty>;
  /** login on the tty at `path` (the board end of a line relay): socat joins that tty to login's own pty. */
  consoleOn(path: string): Promise<{ stop(): Promise<void> }>;
  remove(): void;
}

/** What every narrowed PATH keeps (node is not among them: a board without Node.js is one of the cases). */
const BASICS = ['sh', 'cat', 'mkdir', 'mv', 'rm', 'chmod', 'test', 'stty', 'dirname', 'printf'];

/** Runs `f` again while it fails, up to 20 times 250 ms apart: useradd, chpasswd and userdel lock /etc/passwd, and test files run in parallel. */
function retried<T>(f: () => T): T {
  for (let i = 0; ; i++) {
    try {
      return f();
    } catch (e) {
      if (i >= 19) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
}

export function makeBoard(): Board {
  const user = `akbbs${randomBytes(3).toString('hex')}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const sbin = { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` }, stdio: 'pipe' } as const;
  retried(() => execFileSync('useradd', ['-m', '-s', '/bin/sh', user], sbin));
  retried(() => execFileSync('chpasswd', [], { ...sbin, input: `${user}:${password}\n` }));
  const home = `/home/${user}`;
  const ids = execFileSync('id', ['-u', user]).toString().trim();
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
  return {
    user,
    password,
    home,
    onlyPrograms(programs) {
      if (programs === undefined) {
        writeFileSync(join(home, '.profile'), '');
        return;
      }
      const dir = join(home, `path-${randomBytes(3).toString('hex')}`);
      mkdirSync(dir);
      for (const p of [...BASICS, ...programs]) {
        const at = findProgram(p, '/usr/local/bin:/usr/bin:/bin');
        if (at !== undefined) symlinkSync(at, join(dir, p));
      }
      chownSync(dir, Number(ids), gid);
      writeFileSync(join(home, '.profile'), `PATH=${dir}\nexport PATH\n`);
    },
    console: (dir) => socatPty(dir, 'tty', '/bin/login'),
    async consoleOn(path) {
      const child = spawn('socat', [`FILE:${path},raw,echo=0`, 'SYSTEM:/bin/login,pty,stderr,setsid,ctty'], { stdio: 'ignore' });
      await sleep(300);
      if (child.exitCode !== null) throw new Error(`socat could not open ${path}`);
      return {
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        },
      };
    },
    remove() {
      try {
        retried(() => execFileSync('userdel', ['-r', '-f', user], sbin));
      } catch {
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
}
