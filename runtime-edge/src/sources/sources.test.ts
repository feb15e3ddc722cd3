import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeImage, encodePng } from '@akb/jscc';
import type { ImageReport } from '../pipeline/report.js';
import { DirectorySource } from './directory.js';
import { IngestSource } from './ingest.js';
import { pumpImages, type ImageSink } from './pump.js';
import { WatchSource } from './watch.js';

/** A pipeline stand-in: decodes as the real one does and reports the size. */
function sink(): ImageSink & { names: string[] } {
  const names: string[] = [];
  return {
    names,
    async sendBytes(bytes, name = 'image') {
      const img = await decodeImage(bytes, name);
      names.push(name);
      return { name, width: img.width, height: img.height, tiles: 1 } as ImageReport;
    },
  };
}

const png = (w: number, h: number): Promise<Uint8Array> => encodePng({ width: w, height: h, data: new Float32Array(3 * w * h).fill(0.5) });
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-src-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('image sources', () => {
  it('a folder: PNG and JPEG in name order; a corrupt file is counted and reported, not fatal', async () => {
    const good = await png(8, 8);
    await writeFile(join(dir, 'b.png'), good);
    await writeFile(join(dir, 'a.PNG'), good);
    // Thrown at it: a PNG cut short, a JPEG that is text, and a file that is no image at all.
    await writeFile(join(dir, 'c.png'), good.subarray(0, 30));
    await writeFile(join(dir, 'd.jpg'), 'not a jpeg');
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    const s = sink();
    const errors: [string, boolean][] = [];
    const stats = await pumpImages(new DirectorySource(dir), s, { onError: (_e, name, corrupt) => void errors.push([name, corrupt]) });
    expect(stats).toEqual({ sent: 2, corrupt: 2, failed: 0 });
    expect(s.names).toEqual(['a.PNG', 'b.png']);
    expect(errors).toEqual([['c.png', true], ['d.jpg', true]]);
    await expect(pumpImages(new DirectorySource(join(dir, 'missing')), s)).rejects.toMatchObject({ code: 'SOURCE_MISSING' });
  });

  it('a watched folder: sends files that appear later, once their writes are quiet', async () => {
    await writeFile(join(dir, 'old.png'), await png(4, 4));
    const source = await WatchSource.open(dir, { debounceMs: 50 });
    const s = sink();
    const pumped = pumpImages(source, s);
    const bytes = await png(16, 8);
    await writeFile(join(dir, 'new.png'), bytes.subarray(0, 20)); // a write in progress…
    await new Promise((r) => setTimeout(r, 10));
    await writeFile(join(dir, 'new.png'), bytes); // …completed within the quiet time
    await writeFile(join(dir, 'skip.bmp'), 'BM');
    const end = Date.now() + 3000;
    while (s.names.length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 150));
    await source.close();
    expect(await pumped).toEqual({ sent: 1, corrupt: 0, failed: 0 });
    expect(s.names).toEqual(['new.png']);
    await expect(WatchSource.open(join(dir, 'missing'))).rejects.toMatchObject({ code: 'SOURCE_MISSING' });
  });

  it('MQTT ingest: image.send is answered once the image is sent, or with a typed error', async () => {
    const source = new IngestSource(4);
    const s = sink();
    const pumped = pumpImages(source, s);
    const ctx = {} as Parameters<typeof source.handler>[1];
    const data = Buffer.from(await png(40, 20)).toString('base64');
    await expect(source.handler({ name: 'cam.png', data }, ctx)).resolves.toMatchObject({ name: 'cam.png', tiles: 1 });
    // Thrown at it: bytes that are no image, args that are not base64, no args.
    await expect(source.handler({ name: 'x.png', data: Buffer.from('nope').toString('base64') }, ctx)).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    await expect(source.handler({ data: '***' }, ctx)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(source.handler(undefined, ctx)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await source.close();
    expect(await pumped).toEqual({ sent: 1, corrupt: 1, failed: 0 });
    await expect(source.handler({ data }, ctx)).rejects.toMatchObject({ code: 'SOURCE_CLOSED' });
  });
});
