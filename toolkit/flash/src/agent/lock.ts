/**
 * One install at a time per install root: `install.lock`, created exclusively (O_EXCL), holding the
 * holder's pid and the kernel's boot id. A second install finds it and is refused with one line. The lock
 * is not fsynced: after a power cut it may or may not be there, and boot treats a lock whose holder is gone
 * (another boot, or a pid no longer running) as stale and removes it.
 */
import { readFileSync } from 'node:fs';
import { AkbError } from '@akb/protocol';
import { errnoOf, type AgentFs } from './fs.js';
import { layout } from './state.js';

export interface LockHolder {
  pid: number;
  bootId: string;
  startedAt: string;
}

/** The kernel's boot id (changes at every boot), or '' where there is none (not Linux). */
export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 64);
  } catch {
    return '';
  }
}

/** Whether the holder of a lock still runs: same boot, and its pid answers signal 0. */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.bootId !== currentBootId()) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

function parseHolder(bytes: Buffer): LockHolder | undefined {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Partial<LockHolder>;
    if (Number.isSafeInteger(v.pid) && typeof v.bootId === 'string' && typeof v.startedAt === 'string') return v as LockHolder;
  } catch {
    // an unreadable lock is judged stale below
  }
  return undefined;
}

/** Reads the lock: undefined when there is none; `holder` undefined when it cannot be read. */
export async function readLock(fs: AgentFs, root: string): Promise<{ holder: LockHolder | undefined } | undefined> {
  try {
    return { holder: parseHolder(await fs.readFile(layout(root).lock, 4096)) };
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT') return undefined;
    if (errno === 'EFBIG' || errno === 'EISDIR' || errno === 'ELOOP') return { holder: undefined };
    throw e;
  }
}

/** Takes the lock, or throws INSTALL_BUSY naming the holder. */
export async function acquireLock(fs: AgentFs, root: string, now: Date): Promise<void> {
  const holder: LockHolder = { pid: process.pid, bootId: currentBootId(), startedAt: now.toISOString() };
  let handle;
  try {
    handle = await fs.open(layout(root).lock, { exclusive: true });
  } catch (e) {
    if (errnoOf(e) !== 'EEXIST') throw e;
    const found = await readLock(fs, root).catch(() => undefined);
    const who = found?.holder ? `pid ${found.holder.pid}, since ${found.holder.startedAt}` : 'an unknown holder';
    throw new AkbError('INSTALL_BUSY', `another install is running in ${root} (${who})`, {
      hint: `wait for it to finish; if no akb-agent runs, the lock ${layout(root).lock} is stale and boot removes it`,
    });
  }
  try {
    await handle.write(Buffer.from(JSON.stringify(holder) + '\n'));
    await handle.close();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await releaseLock(fs, root);
    throw e;
  }
}

/** Gives the lock back; a failure here (a dead disk) is not worth more than the error already thrown. */
export async function releaseLock(fs: AgentFs, root: string): Promise<void> {
  await fs.unlink(layout(root).lock).catch(() => undefined);
}
