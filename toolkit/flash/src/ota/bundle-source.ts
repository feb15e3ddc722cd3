/**
 * The bundle file a job sends, as the sender sees it: its manifest (name, version, target profiles, the
 * signing key id) read without verifying (the device verifies), its size and SHA-256, and its blocks read
 * one at a time from an open file, so serving a window holds at most one block per asked index.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { AkbError, OTA_MAX_BLOCK, OTA_MAX_SIZE, OTA_MIN_BLOCK, blockCount } from '@akb/protocol';
import { readBundle } from '../bundle/read.js';

export interface BundleInfo {
  path: string;
  name: string;
  version: string;
  targets: string[];
  keyId: string;
  size: number;
  sha256: string;
}

export async function bundleInfo(path: string): Promise<BundleInfo> {
  const st = await stat(path).catch((e: unknown) => {
    throw new AkbError('BUNDLE_NOT_FOUND', `cannot read ${path}: ${(e as Error).message}`, { hint: 'name a bundle made by akb package', exitCode: 2 });
  });
  if (!st.isFile()) throw new AkbError('BUNDLE_NOT_FOUND', `${path} is not a file`, { exitCode: 2 });
  if (st.size === 0 || st.size > OTA_MAX_SIZE) {
    throw new AkbError('BUNDLE_TOO_LARGE', `${path} is ${st.size} bytes; OTA sends 1 byte to ${OTA_MAX_SIZE}`, { exitCode: 2 });
  }
  const header = await readBundle(path, { trustedKeys: [], verify: false, headerOnly: true });
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const { manifest } = header;
  return { path, name: manifest.name, version: manifest.version, targets: [...manifest.targetProfiles], keyId: header.keyId, size: st.size, sha256: hash.digest('hex') };
}

export class BlockReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly blockSize: number,
  ) {}

  static async open(info: BundleInfo, blockSize: number): Promise<BlockReader> {
    if (!Number.isInteger(blockSize) || blockSize < OTA_MIN_BLOCK || blockSize > OTA_MAX_BLOCK || (blockSize & (blockSize - 1)) !== 0) {
      throw new AkbError('BAD_OPTION', `block size ${blockSize} is not a power of two from ${OTA_MIN_BLOCK} to ${OTA_MAX_BLOCK}`, { exitCode: 2 });
    }
    return new BlockReader(await open(info.path, 'r'), info.size, blockSize);
  }

  get blocks(): number {
    return blockCount(this.size, this.blockSize);
  }

  /** Block `index` (the last one may be short); the caller has checked index < blocks. */
  async read(index: number): Promise<Buffer> {
    const start = index * this.blockSize;
    const length = Math.min(this.blockSize, this.size - start);
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, start);
    if (bytesRead !== length) throw new AkbError('BUNDLE_TRUNCATED', `the bundle shrank while it was sent (block ${index})`);
    return buf;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
