/**
 * Everything the install agent does to a disk, behind one small interface, so the same agent runs on the
 * real disk (`nodeAgentFs`, node:fs with real fsync of files and folders) and on `CrashFs`, an in-memory
 * model of the page cache that a test can cut at any operation and then drop everything not yet fsynced.
 * SIGKILL alone leaves the page cache intact, so only such a model proves the agent crash-safe.
 *
 * Paths are absolute. `stat` never follows a symbolic link (lstat), and nothing here follows one.
 */
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { AkbError, isAkbError } from '@akb/protocol';

/** A file open for writing from its start: written in order, then synced and closed. */
export interface AgentFileHandle {
  write(data: Uint8Array): Promise<void>;
  /** fsync: the file's data (not its folder entry) is on the disk when this resolves. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface AgentStat {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** Permission bits (0o777). */
  mode: number;
}

export interface AgentFs {
  /** Creates (or truncates) a file for writing; `exclusive` fails with EEXIST when it exists. */
  open(path: string, opts?: { mode?: number; exclusive?: boolean }): Promise<AgentFileHandle>;
  /** fsync of a folder: its entries (creations, renames, removals) are on the disk when this resolves. */
  syncDir(path: string): Promise<void>;
  /** Creates one folder (its parent must exist); EEXIST when something is there. */
  mkdir(path: string): Promise<void>;
  /** Atomically replaces `to` with `from` (a file or a symbolic link). */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or a symbolic link. */
  unlink(path: string): Promise<void>;
  /** Removes a folder and everything in it; nothing when it is absent. */
  rmTree(path: string): Promise<void>;
  /** Names in a folder, sorted. */
  readdir(path: string): Promise<string[]>;
  /** A whole file, refused (EFBIG) when it is larger than `maxBytes`, before anything is allocated. */
  readFile(path: string, maxBytes: number): Promise<Buffer>;
  /** A file's bytes in chunks (for hashing large files without holding them). */
  readChunks(path: string): AsyncIterable<Uint8Array>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  /** lstat; undefined when nothing is there. */
  stat(path: string): Promise<AgentStat | undefined>;
}

/** A Node.js-style error with `code` (ENOENT, EEXIST, ENOSPC, EROFS, EIO…), as node:fs throws. */
export function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

/** The errno code of a node:fs-style error, or undefined (always for an AkbError). */
export function errnoOf(e: unknown): string | undefined {
  if (isAkbError(e)) return undefined;
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

const DISK_ERRORS: Record<string, { code: string; what: string; hint: string }> = {
  ENOSPC: { code: 'DISK_FULL', what: 'the disk is full', hint: 'free space on the device and install again' },
  EDQUOT: { code: 'DISK_FULL', what: 'the disk quota is exhausted', hint: 'free space on the device and install again' },
  EROFS: { code: 'READ_ONLY_FS', what: 'the file system is read-only', hint: 'remount it read-write and install again' },
  EIO: { code: 'DISK_IO', what: 'the disk reported an I/O error', hint: 'check the storage (dmesg) before installing again' },
  EACCES: { code: 'DISK_ACCESS', what: 'permission denied', hint: 'run the agent as the user that owns the install root' },
  EPERM: { code: 'DISK_ACCESS', what: 'operation not permitted', hint: 'run the agent as the user that owns the install root' },
};

/**
 * Turns an error of the disk into one clear line (AkbError) saying what was being done and what it left;
 * other errors are returned as they are.
 */
export function diskError(e: unknown, doing: string, left = 'the running slot is untouched'): unknown {
  const errno = errnoOf(e);
  const known = errno === undefined ? undefined : DISK_ERRORS[errno];
  if (!known) return e;
  return new AkbError(known.code, `${doing}: ${known.what} (${errno}); ${left}`, { hint: known.hint, cause: e });
}

/** Writes a whole file and fsyncs it (its folder entry still needs `syncDir`). */
export async function writeFileSynced(fs: AgentFs, path: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const handle = await fs.open(path, { mode });
  try {
    await handle.write(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The real disk: node:fs, with fsync of files and of folders (opened read-only, as fsync(2) allows). */
export function nodeAgentFs(): AgentFs {
  return {
    async open(path, opts = {}) {
      const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | (opts.exclusive ? fsConstants.O_EXCL : fsConstants.O_TRUNC);
      const mode = opts.mode ?? 0o644;
      const handle = await fsp.open(path, flags, mode);
      await handle.chmod(mode); // the umask narrows the mode given to open(2)
      return {
        async write(data) {
          let done = 0;
          while (done < data.byteLength) done += (await handle.write(data, done, data.byteLength - done)).bytesWritten;
        },
        sync: () => handle.sync(),
        close: () => handle.close(),
      };
    },
    async syncDir(path) {
      const handle = await fsp.open(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    mkdir: (path) => fsp.mkdir(path, { mode: 0o755 }),
    rename: (from, to) => fsp.rename(from, to),
    unlink: (path) => fsp.unlink(path),
    rmTree: (path) => fsp.rm(path, { recursive: true, force: true }),
    readdir: async (path) => (await fsp.readdir(path)).sort(),
    async readFile(path, maxBytes) {
      const handle = await fsp.open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
      try {
        const { size } = await handle.stat();
        if (size > maxBytes) throw fsError('EFBIG', 'read', path);
        const buf = Buffer.alloc(size);
        let done = 0;
        while (done < size) {
          const { bytesRead } = await handle.read(buf, done, size - done, done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buf.subarray(0, done);
      } finally {
        await handle.close();
      }
    },
    async *readChunks(path) {
      const handle = await fsp.open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
      try {
        const buf = Buffer.alloc(1 << 20);
        for (;;) {
          const { bytesRead } = await handle.read(buf, 0, buf.length, null);
          if (bytesRead === 0) return;
          yield Buffer.from(buf.subarray(0, bytesRead));
        }
      } finally {
        await handle.close();
      }
    },
    symlink: (target, path) => fsp.symlink(target, path),
    readlink: (path) => fsp.readlink(path),
    async stat(path) {
      try {
        const s = await fsp.lstat(path);
        const kind = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
        return { kind, size: s.size, mode: s.mode & 0o777 };
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') return undefined;
        throw e;
      }
    },
  };
}
