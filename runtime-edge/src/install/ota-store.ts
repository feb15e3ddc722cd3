/**
 * What an OTA download keeps on disk so it resumes after a reconnect or a restart of the agent, in
 * `<install root>/ota/`: `transfer.json` (the offer being fetched), `bundle.part` (blocks written at their
 * offsets) and `bundle.bitmap` (one bit per block held, least significant first). Blocks are fsynced
 * before the bitmap that claims them is replaced (write, fsync, rename), so after a power cut the bitmap
 * never claims a block that is not on disk. `result-<transfer>.json` keeps the result of each finished
 * transfer (the last 16), so an offer repeated after a lost result is answered with the same result.
 * Every file read back is bounded and validated: the offer by its schema, the bitmap by its exact length.
 * Disk faults: a download is begun only when its file system has the offer's size free (else DISK_FULL,
 * "needs N bytes, M free", before a byte is fetched; the install after it needs room for the slot too,
 * which the agent reports itself); a write that fails anyway (ENOSPC, EROFS, EACCES) is one line naming
 * the path (fs-errors.ts); a temporary file is removed when its write fails; `discard` removes what it can.
 */
import { mkdir, open, readFile, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { blockCount, decodeMessage, type OtaOffer, type OtaResult } from '@akb/protocol';
import { describeDiskFault, freeBytes, noSpace } from './fs-errors.js';
import { replaceFile } from './replace-file.js';

const MAX_RESULTS = 16;
const MAX_META_BYTES = 64 * 1024;

export interface Download {
  offer: OtaOffer;
  blocks: number;
  /** One bit per block held. */
  bitmap: Buffer;
}

async function readSmall(path: string): Promise<Buffer | undefined> {
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size > MAX_META_BYTES) return undefined;
    return await readFile(path);
  } catch {
    return undefined;
  }
}

/** What a failed download leaves, for its error line. */
const LEFT = 'the partial download is removed and the running slot is untouched';

export const hasBlock = (bitmap: Uint8Array, i: number): boolean => ((bitmap[i >> 3]! >> (i & 7)) & 1) === 1;

export class OtaStore {
  readonly dir: string;
  private part: FileHandle | undefined;

  constructor(root: string) {
    this.dir = join(root, 'ota');
  }

  get partPath(): string {
    return join(this.dir, 'bundle.part');
  }

  private resultPath(transfer: string): string {
    return join(this.dir, `result-${transfer}.json`);
  }

  /** The download left by an earlier run, when its files are whole and agree; otherwise none (and they are removed). */
  async resume(): Promise<Download | undefined> {
    const text = await readSmall(join(this.dir, 'transfer.json'));
    if (text === undefined) return undefined;
    try {
      const offer = decodeMessage('ota-offer', text);
      const blocks = blockCount(offer.size, offer.blockSize);
      const bitmap = await this.readBitmap(blocks);
      const st = await stat(this.partPath);
      if (!st.isFile() || bitmap === undefined) throw new Error('partial download incomplete');
      this.part = await open(this.partPath, 'r+');
      return { offer, blocks, bitmap };
    } catch {
      await this.discard();
      return undefined;
    }
  }

  private async readBitmap(blocks: number): Promise<Buffer | undefined> {
    const want = Math.ceil(blocks / 8);
    try {
      const fh = await open(join(this.dir, 'bundle.bitmap'), 'r');
      try {
        if ((await fh.stat()).size !== want) return undefined;
        const buf = Buffer.alloc(want);
        await fh.read(buf, 0, want, 0);
        return buf;
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
  }

  /**
   * Starts a new download of `offer` (what was there is removed), refused with DISK_FULL when the file
   * system has less than the offer's size free; a disk fault is one line and leaves nothing behind.
   */
  async begin(offer: OtaOffer): Promise<Download> {
    await this.discard();
    const doing = `downloading ${offer.bundle.name} ${offer.bundle.version}`;
    try {
      await mkdir(this.dir, { recursive: true });
      const free = await freeBytes(this.dir);
      if (free !== undefined && free < offer.size) throw noSpace(doing, this.dir, offer.size, free, 'nothing was fetched and the running slot is untouched');
      const blocks = blockCount(offer.size, offer.blockSize);
      const bitmap = Buffer.alloc(Math.ceil(blocks / 8));
      this.part = await open(this.partPath, 'w+');
      await replaceFile(join(this.dir, 'bundle.bitmap'), bitmap);
      await replaceFile(join(this.dir, 'transfer.json'), JSON.stringify(offer));
      return { offer, blocks, bitmap };
    } catch (e) {
      await this.discard();
      throw await describeDiskFault(e, { doing, path: this.dir, needs: offer.size, left: LEFT });
    }
  }

  /** Writes a block at its offset; a disk fault is one line naming bundle.part (the caller discards). */
  async writeBlock(offset: number, data: Uint8Array): Promise<void> {
    try {
      await this.part!.write(data, 0, data.length, offset);
    } catch (e) {
      throw await describeDiskFault(e, { doing: 'writing a downloaded block', path: this.partPath, left: LEFT });
    }
  }

  /** Makes the blocks written so far durable, then records `bitmap` as what is held. */
  async commit(bitmap: Uint8Array): Promise<void> {
    try {
      await this.part!.sync();
      await replaceFile(join(this.dir, 'bundle.bitmap'), bitmap);
    } catch (e) {
      throw await describeDiskFault(e, { doing: 'recording the blocks held', path: join(this.dir, 'bundle.bitmap'), left: LEFT });
    }
  }

  /** Closes the partial file, keeping it for the next run. */
  async closeFile(): Promise<void> {
    await this.part?.close().catch(() => undefined);
    this.part = undefined;
  }

  /**
   * Closes and removes the partial download, as far as the disk lets it (a read-only one keeps the files;
   * the next run resumes or replaces them): returns the names it could not remove.
   */
  async discard(): Promise<string[]> {
    await this.part?.close().catch(() => undefined);
    this.part = undefined;
    const left: string[] = [];
    for (const name of ['transfer.json', 'bundle.part', 'bundle.bitmap', 'bundle.bitmap.tmp', 'transfer.json.tmp']) {
      await rm(join(this.dir, name), { force: true }).catch(() => left.push(name));
    }
    return left;
  }

  async saveResult(result: OtaResult): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await replaceFile(this.resultPath(result.transfer), JSON.stringify(result));
    const olds = (await readdir(this.dir)).filter((n) => n.startsWith('result-') && n.endsWith('.json'));
    if (olds.length <= MAX_RESULTS) return;
    const dated = await Promise.all(olds.map(async (n) => ({ n, t: (await stat(join(this.dir, n))).mtimeMs })));
    dated.sort((a, b) => a.t - b.t);
    for (const { n } of dated.slice(0, dated.length - MAX_RESULTS)) await rm(join(this.dir, n), { force: true });
  }

  async result(transfer: string): Promise<OtaResult | undefined> {
    const text = await readSmall(this.resultPath(transfer));
    if (text === undefined) return undefined;
    try {
      return decodeMessage('ota-result', text);
    } catch {
      return undefined;
    }
  }
}

