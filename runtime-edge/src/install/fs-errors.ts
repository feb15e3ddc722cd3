/**
 * Faults of the device's own disk, as one line a person can act on: a full disk (ENOSPC, EDQUOT), a
 * read-only file system (EROFS), a permission refused (EACCES, EPERM) or an I/O error (EIO) become an
 * AkbError (DISK_FULL, READ_ONLY_FS, DISK_ACCESS, DISK_IO, the codes @akb/flash's InstallAgent uses) that
 * names the path, says what was being done and what it left, and hints at the fix: free space (with the
 * bytes needed and free), remount read-write, or chown / run as the owner. node:fs errors from a
 * FileHandle carry no path, and the agent's own AkbError keeps the errno error as its cause, so the
 * caller names the path the step was writing and the errno is looked for along the cause chain.
 */
import { stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AkbError, isAkbError } from '@akb/protocol';

interface Kind {
  code: 'DISK_FULL' | 'READ_ONLY_FS' | 'DISK_ACCESS' | 'DISK_IO';
}
const KINDS: Readonly<Record<string, Kind>> = {
  ENOSPC: { code: 'DISK_FULL' },
  EDQUOT: { code: 'DISK_FULL' },
  EROFS: { code: 'READ_ONLY_FS' },
  EACCES: { code: 'DISK_ACCESS' },
  EPERM: { code: 'DISK_ACCESS' },
  EIO: { code: 'DISK_IO' },
};

/** The codes of a disk fault, as AkbError codes. */
export const DISK_FAULT_CODES: ReadonlySet<string> = new Set(Object.values(KINDS).map((k) => k.code));

/** The errno error in `e` or along its `cause` chain (the agent wraps them), or undefined. */
export function errnoCause(e: unknown): NodeJS.ErrnoException | undefined {
  let at: unknown = e;
  for (let depth = 0; depth < 6 && at instanceof Error; depth++) {
    const code = (at as { code?: unknown }).code;
    if (!isAkbError(at) && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return at;
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when `e` is a disk fault: an errno error of KINDS, or an AkbError of one of their codes. */
export function isDiskFault(e: unknown): boolean {
  if (isAkbError(e)) return DISK_FAULT_CODES.has(e.code);
  const errno = errnoCause(e)?.code;
  return errno !== undefined && errno in KINDS;
}

/** Bytes an unprivileged writer may still write on the file system holding `path` (its nearest existing folder). */
export async function freeBytes(path: string): Promise<number | undefined> {
  let at = path;
  for (let i = 0; i < 64; i++) {
    try {
      const fs = await statfs(at);
      return fs.bavail * fs.bsize;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) return undefined;
      at = dirname(at);
    }
  }
  return undefined;
}

/** The owner (uid) of `path` or of its nearest existing folder. */
async function ownerOf(path: string): Promise<number | undefined> {
  let at = path;
  for (let i = 0; i < 64; i++) {
    try {
      return (await stat(at)).uid;
    } catch {
      if (dirname(at) === at) return undefined;
      at = dirname(at);
    }
  }
  return undefined;
}

export interface FaultContext {
  /** What was being done, e.g. "writing slot B" or "downloading akb-edge 2.0.0". */
  doing: string;
  /** The path written when the errno error names none (a FileHandle's errors do not). */
  path: string;
  /** Bytes the step needs on that file system (said for a full disk). */
  needs?: number;
  /** What the failure left, e.g. "the running slot is untouched". */
  left: string;
  /** The folder to hand to the service user (default `path`). */
  owned?: string;
}

interface Facts {
  free?: number | undefined;
  uid?: number | undefined;
  owner?: number | undefined;
  cause?: unknown;
}

function sentence(kind: Kind, errno: string, path: string, ctx: FaultContext, facts: Facts): AkbError {
  const { doing, left } = ctx;
  const { free, uid, owner, cause } = facts;
  const owned = ctx.owned ?? path;
  switch (kind.code) {
    case 'DISK_FULL': {
      const sizes = ctx.needs !== undefined ? `: needs ${ctx.needs} bytes, ${free ?? 'unknown'} free` : '';
      const spare = ctx.needs === undefined && free !== undefined ? `, ${free} bytes free` : '';
      return new AkbError(kind.code, `${doing}: no space left on ${path} (${errno}${spare})${sizes}; ${left}`, {
        hint: 'free space on that file system (old logs, caches, a stale download) and try again',
        cause,
      });
    }
    case 'READ_ONLY_FS':
      return new AkbError(kind.code, `${doing}: ${path} is on a read-only file system (${errno}); ${left}`, {
        hint: `remount it read-write (mount -o remount,rw "$(findmnt -no TARGET -T ${dirname(path)})"; fsck first if the kernel made it read-only after errors) and try again`,
        cause,
      });
    case 'DISK_ACCESS': {
      const who = uid === undefined ? '' : ` for uid ${uid}`;
      const theirs = owner === undefined ? '' : ` (uid ${owner})`;
      return new AkbError(kind.code, `${doing}: permission denied on ${path} (${errno})${who}; ${left}`, {
        hint: `run akb-agent as the service user that owns ${owned}${theirs}, or give that folder to the user it runs as (chown -R <user> ${owned})`,
        cause,
      });
    }
    default:
      return new AkbError(kind.code, `${doing}: the disk reported an I/O error on ${path} (${errno}); ${left}`, {
        hint: 'check the storage (dmesg, fsck) before trying again',
        cause,
      });
  }
}

/**
 * `e` as one clear line when it is a disk fault (an errno error, or an AkbError of the agent whose cause is
 * one); anything else is returned as it is.
 */
export async function describeDiskFault(e: unknown, ctx: FaultContext): Promise<unknown> {
  const errnoError = errnoCause(e);
  const errno = errnoError?.code;
  const kind = errno === undefined ? undefined : KINDS[errno];
  if (!kind || errno === undefined) return e;
  if (isAkbError(e) && !DISK_FAULT_CODES.has(e.code)) return e;
  const path = errnoError?.path ?? ctx.path;
  // The agent's own line says what it was doing and what it left: keep those, add the path and sizes.
  const agent = isAkbError(e) ? AGENT_LINE.exec(e.message) : null;
  const said = agent ? { ...ctx, doing: agent[1]!, left: agent[2]! } : ctx;
  const free = kind.code === 'DISK_FULL' ? await freeBytes(path) : undefined;
  const owner = kind.code === 'DISK_ACCESS' ? await ownerOf(ctx.owned ?? path) : undefined;
  return sentence(kind, errno, path, said, { free, uid: process.getuid?.(), owner, cause: e });
}

/** @akb/flash's diskError line: `<doing>: <what> (<ERRNO>); <what it left>`. */
const AGENT_LINE = /^(.+?): [^;]+ \(E[A-Z0-9]+\); (.+)$/;

/** A full-disk refusal made before anything is written: `needs` bytes, `free` available under `path`. */
export function noSpace(doing: string, path: string, needs: number, free: number, left: string): AkbError {
  return sentence(KINDS.ENOSPC!, 'ENOSPC', path, { doing, path, needs, left }, { free });
}

/** The line of an error for a person: an AkbError's message and hint, else the message. */
export function faultLine(e: unknown): string {
  if (isAkbError(e)) return e.toLine();
  return e instanceof Error ? e.message : String(e);
}
