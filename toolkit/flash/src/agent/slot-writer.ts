/**
 * Writes a bundle's payload into the inactive slot as the bundle reader streams it: the slot is wiped
 * first, each file is created with its manifest mode, written, fsynced and closed; at the end the stored
 * `.akb/manifest.json` and `.akb/manifest.sig` are written the same way and every folder of the slot is
 * fsynced, deepest first, then the install root, so that nothing of the slot is only in the page cache
 * when the state file is switched to it. Paths are checked again here (the reader checks them too): a
 * path that is absolute, has `.`/`..`/empty segments or starts with `.akb` is refused before anything is
 * created, so nothing is written outside the slot.
 */
import { posix } from 'node:path';
import type { BundleFile } from '@akb/protocol';
import { AkbError } from '@akb/protocol';
import { errnoOf, writeFileSynced, type AgentFs } from './fs.js';
import { slotMetaPaths } from './verify-slot.js';

/** The part of the reader's sink interface the agent implements. */
export interface PayloadSink {
  file(entry: BundleFile, content: AsyncIterable<Uint8Array>): Promise<void>;
}

export class SlotWriter implements PayloadSink {
  /** Folders created in the slot (the slot itself included), to fsync before the switch. */
  private readonly dirs = new Set<string>();
  /** The first error the disk gave, kept so the agent can tell a failing disk from a bad bundle. */
  diskFailure: unknown;
  /** True once the slot folder has been wiped (the agent then removes what was written when it fails). */
  started = false;

  constructor(
    private readonly fs: AgentFs,
    private readonly dir: string,
  ) {}

  /** Wipes the slot and creates it empty with its `.akb` folder. */
  async prepare(): Promise<void> {
    await this.disk(async () => {
      this.started = true;
      await this.fs.rmTree(this.dir);
      await this.fs.mkdir(this.dir);
      this.dirs.add(this.dir);
      const { metaDir } = slotMetaPaths(this.dir);
      await this.fs.mkdir(metaDir);
      this.dirs.add(metaDir);
    });
  }

  async file(entry: BundleFile, content: AsyncIterable<Uint8Array>): Promise<void> {
    const segments = entry.path.split('/');
    if (posix.isAbsolute(entry.path) || segments.some((s) => s === '' || s === '.' || s === '..') || segments[0] === '.akb') {
      throw new AkbError('BUNDLE_UNSAFE_MEMBER', `payload path ${JSON.stringify(entry.path.slice(0, 120))} escapes the slot`, {
        hint: 'bundles hold only plain relative paths; this one was not made by `akb package`',
      });
    }
    const path = posix.join(this.dir, entry.path);
    await this.disk(async () => {
      await this.ensureDirs(segments.slice(0, -1));
      const handle = await this.fs.open(path, { mode: entry.mode ?? 0o644 });
      try {
        for await (const chunk of content) await handle.write(chunk);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  /** Stores the manifest and signature as they came, then makes every folder of the slot durable. */
  async finish(manifestBytes: Uint8Array, signatureBytes: Uint8Array): Promise<void> {
    await this.disk(async () => {
      const meta = slotMetaPaths(this.dir);
      await writeFileSynced(this.fs, meta.manifest, manifestBytes);
      await writeFileSynced(this.fs, meta.signature, signatureBytes);
      const deepestFirst = [...this.dirs].sort((a, b) => b.split('/').length - a.split('/').length);
      for (const dir of deepestFirst) await this.fs.syncDir(dir);
      await this.fs.syncDir(posix.dirname(this.dir));
    });
  }

  private async ensureDirs(parents: string[]): Promise<void> {
    let dir = this.dir;
    for (const name of parents) {
      dir = posix.join(dir, name);
      if (this.dirs.has(dir)) continue;
      await this.fs.mkdir(dir);
      this.dirs.add(dir);
    }
  }

  /** Runs a disk step, remembering an errno error (ENOSPC, EROFS, EIO…) before passing it on. */
  private async disk(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (e) {
      if (this.diskFailure === undefined && errnoOf(e) !== undefined) this.diskFailure = e;
      throw e;
    }
  }
}
