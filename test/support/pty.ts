/**
 * Pseudo-terminals for serial-console tests: socat links a pty (the "port" a test opens) to a real
 * program (`sh -i`, or one that misbehaves) or to a second pty where nothing answers. The program runs
 * on a pty of its own in a new session, as a getty would run a shell, so it echoes and prompts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SocatPty {
  /** The path a test opens as its serial port. */
  readonly path: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts socat with a pty linked at `<dir>/<name>` on one side and, on the other, `program` run by
 * /bin/sh (socat's SYSTEM) on a pty of its own (or, when `program` is undefined, a second pty nobody reads).
 */
export async function socatPty(dir: string, name: string, program: string | undefined): Promise<SocatPty> {
  const path = join(dir, name);
  if (program !== undefined && /[,:!]/u.test(program)) throw new Error(`socat's address syntax splits at , : and !: run a script file instead: "${program}"`);
  const other = program === undefined ? `PTY,link=${join(dir, `${name}.peer`)},raw,echo=0` : `SYSTEM:${program},pty,stderr,setsid,ctty`;
  const child = spawn('socat', [`PTY,link=${path},raw,echo=0`, other], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      // socat makes the two links one after the other: a test that opens the peer must find it there too.
      await access(path);
      if (program === undefined) await access(join(dir, `${name}.peer`));
      return { path, process: child, stop: () => stopChild(child) };
    } catch {
      if (child.exitCode !== null) break;
      await sleep(25);
    }
  }
  await stopChild(child);
  throw new Error(`socat did not create ${path}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
