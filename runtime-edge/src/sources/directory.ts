/** A folder of PNG and JPEG files, read once in name order. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { IMAGE_FILE, type ImageSource, type SourceImage, type SourceStats } from './source.js';

export class DirectorySource implements ImageSource {
  readonly kind = 'directory';
  readonly stats: SourceStats = { found: 0, unreadable: 0 };
  private closed = false;

  constructor(readonly dir: string) {}

  async *images(): AsyncGenerator<SourceImage> {
    let names: string[];
    try {
      names = (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isFile() && IMAGE_FILE.test(e.name)).map((e) => e.name);
    } catch (e) {
      throw new AkbError('SOURCE_MISSING', `cannot read the image folder ${this.dir} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
        hint: 'pass --images <folder of PNG or JPEG files>',
        cause: e,
      });
    }
    names.sort();
    this.stats.found += names.length;
    for (const name of names) {
      if (this.closed) return;
      let bytes: Uint8Array;
      try {
        bytes = await readFile(join(this.dir, name));
      } catch {
        this.stats.unreadable++;
        continue;
      }
      yield { name, bytes };
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- part of the async source interface
  async close(): Promise<void> {
    this.closed = true;
  }
}
