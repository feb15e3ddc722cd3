/**
 * CrashFs's model of the page cache: file data survives a crash only once fsynced, folder entries only once
 * the folder is fsynced; rename is atomic in the running view; a cut stops every later call; ENOSPC after a
 * byte budget; EROFS while read-only; handles from before a crash are dead.
 */
import { describe, expect, it } from 'vitest';
import { errnoOf, writeFileSynced } from './fs.js';
import { CrashFs, PowerCut } from './crash-fs.js';

async function write(fs: CrashFs, path: string, text: string, sync: boolean): Promise<void> {
  const h = await fs.open(path);
  await h.write(Buffer.from(text));
  if (sync) await h.sync();
  await h.close();
}
const text = async (fs: CrashFs, path: string): Promise<string> => (await fs.readFile(path, 1024)).toString();

describe('CrashFs', () => {
  it('keeps after a crash only fsynced data under fsynced folder entries', async () => {
    const fs = new CrashFs();
    await fs.mkdir('/d');
    await fs.syncDir('/');
    await write(fs, '/d/synced', 'kept', true);
    await write(fs, '/d/unsynced', 'lost', false);
    await fs.syncDir('/d');
    await write(fs, '/d/no-entry', 'data synced, entry not', true);
    fs.crash();
    expect(await fs.readdir('/d')).toEqual(['synced', 'unsynced']);
    expect(await text(fs, '/d/synced')).toBe('kept');
    expect(await text(fs, '/d/unsynced')).toBe(''); // the entry was durable, its data was not
  });

  it('replaces by rename atomically; the old name comes back when the folder was not fsynced', async () => {
    const fs = new CrashFs();
    await writeFileSynced(fs, '/state', Buffer.from('old'));
    await fs.syncDir('/');
    await writeFileSynced(fs, '/state.tmp', Buffer.from('new'));
    await fs.rename('/state.tmp', '/state');
    expect(await text(fs, '/state')).toBe('new');
    expect(await fs.stat('/state.tmp')).toBeUndefined();
    fs.crash();
    expect(await text(fs, '/state')).toBe('old');
    expect(await fs.readdir('/')).toEqual(['state']); // state.tmp's entry was never durable either
    await writeFileSynced(fs, '/state.tmp', Buffer.from('new'));
    await fs.rename('/state.tmp', '/state');
    await fs.syncDir('/');
    fs.crash();
    expect(await text(fs, '/state')).toBe('new');
  });

  it('a cut fails the k+1-th change and every call after it, until the crash', async () => {
    const fs = new CrashFs();
    fs.cutAfter(2);
    await fs.mkdir('/a');
    await fs.mkdir('/b');
    await expect(fs.mkdir('/c')).rejects.toBeInstanceOf(PowerCut);
    await expect(fs.readdir('/')).rejects.toBeInstanceOf(PowerCut);
    expect(fs.isCut).toBe(true);
    fs.crash();
    expect(await fs.readdir('/')).toEqual([]);
    await fs.mkdir('/c');
  });

  it('ENOSPC after a byte budget, EROFS while read-only, EBADF for a handle from before a crash', async () => {
    const fs = new CrashFs();
    fs.failWritesAfter(4);
    const h = await fs.open('/f');
    await h.write(Buffer.from('abcd'));
    expect(errnoOf(await h.write(Buffer.from('e')).catch((e: unknown) => e))).toBe('ENOSPC');
    fs.failWritesAfter(undefined);
    fs.setReadOnly(true);
    expect(errnoOf(await fs.mkdir('/x').catch((e: unknown) => e))).toBe('EROFS');
    fs.setReadOnly(false);
    fs.crash();
    expect(errnoOf(await h.write(Buffer.from('x')).catch((e: unknown) => e))).toBe('EBADF');
  });

  it('with a random source, each file and folder keeps its unsynced or its synced state', async () => {
    const fs = new CrashFs();
    await write(fs, '/f', 'volatile', false);
    fs.crash(() => 0); // < 0.5: keep the running view
    expect(await text(fs, '/f')).toBe('volatile');
    await write(fs, '/f', 'again', false);
    fs.crash(() => 0.9); // drop it
    expect(await text(fs, '/f')).toBe('volatile');
  });
});
