/**
 * CrashFs: an in-memory AgentFs that models the page cache, for proving the install agent crash-safe.
 *
 * Every file and folder has a volatile view (what a running program sees) and a durable view (what the
 * disk holds). A file's data and mode become durable on `sync()` of a handle to it; a folder's entries
 * (creations, renames, removals) become durable on `syncDir` of that folder: the ALICE/CrashMonkey model
 * of ext4 without its rename heuristics. Rename is atomic in the volatile view.
 *
 * A test cuts the power after operation k (`cutAfter(k)`: every later call throws, as a dead process
 * would do nothing more), then calls `crash()`: everything not durable is dropped. `crash(rng)` instead
 * lets each file and folder independently keep its volatile or its durable view (write-back happened to
 * some but not others), which is still a state the disk may hold after a cut. It can also fail writes with
 * ENOSPC after a byte budget, or every change with EROFS.
 *
 * Symbolic links are stored, never followed.
 */
import { posix } from 'node:path';
import { fsError, type AgentFileHandle, type AgentFs, type AgentStat } from './fs.js';

interface FileNode {
  kind: 'file';
  chunks: Buffer[];
  mode: number;
  durable: Buffer;
  durableMode: number;
}
interface DirNode {
  kind: 'dir';
  entries: Map<string, Node>;
  durable: Map<string, Node>;
}
interface LinkNode {
  kind: 'symlink';
  target: string;
}
type Node = FileNode | DirNode | LinkNode;

/** Thrown by every call after the cut: the process is gone. Not an AkbError: nothing should handle it. */
export class PowerCut extends Error {
  override readonly name = 'PowerCut';
  constructor(readonly op: number) {
    super(`power cut after operation ${op}`);
  }
}

function flat(node: FileNode): Buffer {
  if (node.chunks.length !== 1) node.chunks = [Buffer.concat(node.chunks)];
  return node.chunks[0] ?? Buffer.alloc(0);
}

export class CrashFs implements AgentFs {
  private root: DirNode = { kind: 'dir', entries: new Map(), durable: new Map() };
  private epoch = 0;
  private cutAt: number | undefined;
  private cutOp: number | undefined;
  private bytesLeft = Infinity;
  private readOnly = false;
  /** Changes made so far (writes, syncs, creations, renames, removals), counted across crashes. */
  ops = 0;
  /** Bytes written so far, counted across crashes. */
  bytesWritten = 0;

  /**
   * Every change after the `k`-th (counted from now) fails, and so does every later call: a power cut.
   * undefined: no cut planned (one already made stays until `crash()`).
   */
  cutAfter(k: number | undefined): void {
    this.cutAt = k === undefined ? undefined : this.ops + k;
  }

  /** True once the cut has happened (until `crash()`). */
  get isCut(): boolean {
    return this.cutOp !== undefined;
  }

  /** Writes fail with ENOSPC once `bytes` more bytes have been written (undefined: no limit). */
  failWritesAfter(bytes: number | undefined): void {
    this.bytesLeft = bytes ?? Infinity;
  }

  /** Every change fails with EROFS while set. */
  setReadOnly(readOnly: boolean): void {
    this.readOnly = readOnly;
  }

  /**
   * The reboot after a cut: whatever was not durable is gone (with `rng`, each file and folder keeps its
   * volatile or its durable view at random); handles opened before fail; the cut is cleared.
   */
  crash(rng?: () => number): void {
    const seen = new Set<Node>();
    const settle = (node: Node): void => {
      if (seen.has(node)) return;
      seen.add(node);
      const keepVolatile = rng !== undefined && rng() < 0.5;
      if (node.kind === 'file') {
        if (keepVolatile) {
          node.durable = Buffer.from(flat(node));
          node.durableMode = node.mode;
        }
        node.chunks = [Buffer.from(node.durable)];
        node.mode = node.durableMode;
      } else if (node.kind === 'dir') {
        const kept = new Map(keepVolatile ? node.entries : node.durable);
        node.entries = kept;
        node.durable = new Map(kept);
        for (const child of kept.values()) settle(child);
      }
    };
    settle(this.root);
    this.epoch++;
    this.cutAt = undefined;
    this.cutOp = undefined;
  }

  // --- AgentFs -----------------------------------------------------------------------------------------

  async open(path: string, opts: { mode?: number; exclusive?: boolean } = {}): Promise<AgentFileHandle> {
    this.change('open', path);
    const { dir, name } = this.parent(path, 'open');
    const existing = dir.entries.get(name);
    if (existing && opts.exclusive) throw fsError('EEXIST', 'open', path);
    if (existing && existing.kind !== 'file') throw fsError(existing.kind === 'dir' ? 'EISDIR' : 'ELOOP', 'open', path);
    const mode = opts.mode ?? 0o644;
    const node: FileNode = existing ?? { kind: 'file', chunks: [], mode, durable: Buffer.alloc(0), durableMode: mode };
    node.chunks = [];
    node.mode = mode;
    dir.entries.set(name, node);
    const epoch = this.epoch;
    let closed = false;
    await Promise.resolve();
    const live = (syscall: string): void => {
      this.alive();
      if (closed || epoch !== this.epoch) throw fsError('EBADF', syscall, path);
    };
    return {
      write: async (data) => {
        live('write');
        this.change('write', path);
        if (data.byteLength > this.bytesLeft) throw fsError('ENOSPC', 'write', path);
        this.bytesLeft -= data.byteLength;
        this.bytesWritten += data.byteLength;
        node.chunks.push(Buffer.from(data));
        await Promise.resolve();
      },
      sync: async () => {
        live('fsync');
        this.change('fsync', path);
        node.durable = Buffer.from(flat(node));
        node.durableMode = node.mode;
        await Promise.resolve();
      },
      close: async () => {
        live('close');
        closed = true;
        await Promise.resolve();
      },
    };
  }

  async syncDir(path: string): Promise<void> {
    this.change('fsync', path);
    const dir = this.dirAt(path, 'fsync');
    dir.durable = new Map(dir.entries);
    await Promise.resolve();
  }

  async mkdir(path: string): Promise<void> {
    this.change('mkdir', path);
    const { dir, name } = this.parent(path, 'mkdir');
    if (dir.entries.has(name)) throw fsError('EEXIST', 'mkdir', path);
    dir.entries.set(name, { kind: 'dir', entries: new Map(), durable: new Map() });
    await Promise.resolve();
  }

  async rename(from: string, to: string): Promise<void> {
    this.change('rename', from);
    const src = this.parent(from, 'rename');
    const dst = this.parent(to, 'rename');
    const node = src.dir.entries.get(src.name);
    if (!node) throw fsError('ENOENT', 'rename', from);
    const target = dst.dir.entries.get(dst.name);
    if (target?.kind === 'dir' && (node.kind !== 'dir' || target.entries.size > 0)) throw fsError('EISDIR', 'rename', to);
    src.dir.entries.delete(src.name);
    dst.dir.entries.set(dst.name, node);
    await Promise.resolve();
  }

  async unlink(path: string): Promise<void> {
    this.change('unlink', path);
    const { dir, name } = this.parent(path, 'unlink');
    const node = dir.entries.get(name);
    if (!node) throw fsError('ENOENT', 'unlink', path);
    if (node.kind === 'dir') throw fsError('EISDIR', 'unlink', path);
    dir.entries.delete(name);
    await Promise.resolve();
  }

  /** One change per entry removed, depth first, so a cut can fall in the middle of it. */
  async rmTree(path: string): Promise<void> {
    this.alive();
    const { dir, name } = this.parent(path, 'rm');
    const node = dir.entries.get(name);
    if (!node) return;
    if (node.kind === 'dir') for (const child of [...node.entries.keys()]) await this.rmTree(posix.join(path, child));
    this.change('rm', path);
    dir.entries.delete(name);
  }

  async readdir(path: string): Promise<string[]> {
    this.alive();
    await Promise.resolve();
    return [...this.dirAt(path, 'scandir').entries.keys()].sort();
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    this.alive();
    await Promise.resolve();
    const node = this.fileAt(path);
    const data = flat(node);
    if (data.length > maxBytes) throw fsError('EFBIG', 'read', path);
    return Buffer.from(data);
  }

  async *readChunks(path: string): AsyncIterable<Uint8Array> {
    this.alive();
    const data = Buffer.from(flat(this.fileAt(path)));
    await Promise.resolve();
    for (let at = 0; at < data.length; at += 1 << 16) yield data.subarray(at, at + (1 << 16));
  }

  async symlink(target: string, path: string): Promise<void> {
    this.change('symlink', path);
    const { dir, name } = this.parent(path, 'symlink');
    if (dir.entries.has(name)) throw fsError('EEXIST', 'symlink', path);
    dir.entries.set(name, { kind: 'symlink', target });
    await Promise.resolve();
  }

  async readlink(path: string): Promise<string> {
    this.alive();
    await Promise.resolve();
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'readlink', path);
    if (node.kind !== 'symlink') throw fsError('EINVAL', 'readlink', path);
    return node.target;
  }

  async stat(path: string): Promise<AgentStat | undefined> {
    this.alive();
    await Promise.resolve();
    const node = this.lookup(path);
    if (!node) return undefined;
    if (node.kind === 'file') return { kind: 'file', size: flat(node).length, mode: node.mode };
    return { kind: node.kind, size: 0, mode: node.kind === 'dir' ? 0o755 : 0o777 };
  }

  // --- internals ---------------------------------------------------------------------------------------

  private alive(): void {
    if (this.cutOp !== undefined) throw new PowerCut(this.cutOp);
  }

  /** Counts a change; fails it when the power is cut at it, or the disk is read-only. */
  private change(syscall: string, path: string): void {
    this.alive();
    if (this.cutAt !== undefined && this.ops >= this.cutAt) {
      this.cutOp = this.ops;
      throw new PowerCut(this.ops);
    }
    this.ops++;
    if (this.readOnly && syscall !== 'fsync' && syscall !== 'close') throw fsError('EROFS', syscall, path);
  }

  private lookup(path: string): Node | undefined {
    let node: Node = this.root;
    for (const part of this.split(path)) {
      if (node.kind !== 'dir') return undefined;
      const next = node.entries.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  private split(path: string): string[] {
    if (!posix.isAbsolute(path)) throw fsError('EINVAL', 'resolve', path);
    return posix.normalize(path).split('/').filter((p) => p !== '');
  }

  private parent(path: string, syscall: string): { dir: DirNode; name: string } {
    const parts = this.split(path);
    const name = parts.pop();
    if (name === undefined) throw fsError('EBUSY', syscall, path);
    const dir = this.lookup('/' + parts.join('/'));
    if (!dir) throw fsError('ENOENT', syscall, path);
    if (dir.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
    return { dir, name };
  }

  private dirAt(path: string, syscall: string): DirNode {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', syscall, path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
    return node;
  }

  private fileAt(path: string): FileNode {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'open', path);
    if (node.kind !== 'file') throw fsError(node.kind === 'dir' ? 'EISDIR' : 'ELOOP', 'open', path);
    return node;
  }
}
