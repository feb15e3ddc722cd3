/**
 * A watched folder: PNG and JPEG files that appear (or are rewritten) after the start, each sent once
 * its writes have been quiet for `debounceMs`. fs.watch reports names, not completed writes, so each
 * event only restarts the file's timer; a file is read when the timer fires and skipped if its size and
 * modification time are what was already sent.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { IMAGE_FILE, ImageQueue, type ImageSource, type SourceImage, type SourceStats } from './source.js';

export interface WatchSourceOptions {
  /** Quiet time after the last event before a file is read, ms (default 200). */
  debounceMs?: number;
  /** Also send the files already there at the start (default false). */
  existing?: boolean;
}

export class WatchSource implements ImageSource {
  readonly kind = 'watch';
  readonly stats: SourceStats = { found: 0, unreadable: 0 };
  private readonly queue = new ImageQueue();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly sent = new Map<string, string>();
  private readonly pending = new Set<Promise<void>>();
  private watcher: FSWatcher | undefined;

  private constructor(readonly dir: string, private readonly options: WatchSourceOptions) {}

  /** Starts watching; throws AkbError('SOURCE_MISSING') for a folder that cannot be watched. */
  static async open(dir: string, options: WatchSourceOptions = {}): Promise<WatchSource> {
    const source = new WatchSource(dir, options);
    let present: string[];
    try {
      present = await readdir(dir);
      source.watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (typeof name === 'string') source.touch(name);
      });
    } catch (e) {
      throw new AkbError('SOURCE_MISSING', `cannot watch the folder ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
        hint: 'pass --watch <an existing folder>',
        cause: e,
      });
    }
    source.watcher.on('error', () => void source.close());
    for (const name of present.sort()) {
      if (options.existing) source.touch(name);
      else await source.remember(name);
    }
    return source;
  }

  images(): AsyncIterable<SourceImage> {
    return this.queue;
  }

  private async remember(name: string): Promise<void> {
    const signature = await this.signature(name);
    if (signature) this.sent.set(name, signature);
  }

  private async signature(name: string): Promise<string | undefined> {
    try {
      const s = await stat(join(this.dir, name));
      return s.isFile() && s.size > 0 ? `${s.size}:${s.mtimeMs}` : undefined;
    } catch {
      return undefined;
    }
  }

  private touch(name: string): void {
    if (this.queue.closed || !IMAGE_FILE.test(name)) return;
    clearTimeout(this.timers.get(name));
    const timer = setTimeout(() => {
      this.timers.delete(name);
      const p = this.read(name).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }, this.options.debounceMs ?? 200);
    this.timers.set(name, timer);
  }

  private async read(name: string): Promise<void> {
    const signature = await this.signature(name);
    if (!signature || this.sent.get(name) === signature) return; // gone, empty or already sent
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(this.dir, name));
    } catch {
      this.stats.unreadable++;
      return;
    }
    this.sent.set(name, signature);
    this.stats.found++;
    this.queue.push({ name, bytes });
  }

  async close(): Promise<void> {
    this.watcher?.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.pending]);
    this.queue.end();
  }
}
