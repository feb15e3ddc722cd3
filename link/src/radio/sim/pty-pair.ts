/**
 * A pseudo-terminal pair made by socat: `path` is the port the driver (or a HIL plan) opens, `<path>.peer`
 * the one the simulator answers on. Needs socat (Debian: apt-get install socat).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { AkbError } from '@akb/protocol';

export interface PtyPair {
  readonly path: string;
  readonly peerPath: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export async function startPtyPair(path: string): Promise<PtyPair> {
  if (/[,:!]/u.test(path)) throw new AkbError('BAD_OPTION', `socat's address syntax splits at , : and !, so the pty path cannot hold them: "${path}"`);
  const peerPath = `${path}.peer`;
  const child = spawn('socat', [`PTY,link=${path},raw,echo=0`, `PTY,link=${peerPath},raw,echo=0`], { stdio: 'ignore' });
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || spawnError) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 200 && !spawnError && child.exitCode === null; i++) {
    try {
      await access(path);
      await access(peerPath);
      return { path, peerPath, process: child, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  await stop();
  if (spawnError) throw new AkbError('SOCAT_MISSING', `cannot run socat: ${spawnError.message}`, { hint: 'apt-get install socat' });
  throw new AkbError('PTY_FAILED', `socat did not create ${path} and ${peerPath}`, { hint: 'check that the folder exists and is writable' });
}
