/**
 * Reads a ustar archive from a stream of decompressed chunks, one header block at a time, and member
 * content as slices of those chunks (never a whole member in memory). Every member must be a regular
 * file with a plain relative path; its declared size is checked against the limit before a byte of it
 * is read. The end is two zero blocks, then at most 64 KiB of zeros, then the end of the gzip stream.
 */
import { bundleError, quote } from './errors.js';
import { FORMAT_LIMITS } from './limits.js';
import { BLOCK, decodeHeader, isZeroBlock, paddingOf, TYPE_NAMES, unsafePathReason, type TarHeader } from './tar.js';

export class TarReader {
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private ended = false;

  constructor(
    private readonly source: AsyncGenerator<Buffer, void, undefined>,
    private readonly maxMemberBytes: number,
  ) {}

  /** The next slice of at most `max` bytes, or undefined at the end of the stream. */
  private async some(max: number): Promise<Buffer | undefined> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return undefined;
      const next = await this.source.next();
      if (next.done === true) {
        this.ended = true;
        return undefined;
      }
      this.chunk = next.value;
      this.pos = 0;
    }
    const n = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Exactly `n` bytes (the caller bounds n), or BUNDLE_TRUNCATED. */
  async exact(n: number, what: string): Promise<Buffer> {
    const out = Buffer.alloc(n);
    for (let filled = 0; filled < n; ) {
      const part = await this.some(n - filled);
      if (part === undefined) throw bundleError('BUNDLE_TRUNCATED', `the bundle ends early, inside ${what}`);
      out.set(part, filled);
      filled += part.length;
    }
    return out;
  }

  /** A whole small member of `size` bytes (the caller bounds it), padding skipped. */
  async whole(size: number, what: string): Promise<Buffer> {
    const out = await this.exact(size, what);
    await this.skip(paddingOf(size), what);
    return out;
  }

  /** Content of a member of `size` bytes as slices, then skips its padding. */
  async *content(size: number, what: string): AsyncGenerator<Buffer, void, undefined> {
    for (let left = size; left > 0; ) {
      const part = await this.some(left);
      if (part === undefined) throw bundleError('BUNDLE_TRUNCATED', `the bundle ends early, inside ${what}`);
      left -= part.length;
      yield part;
    }
    await this.skip(paddingOf(size), what);
  }

  private async skip(n: number, what: string): Promise<void> {
    for (let left = n; left > 0; ) {
      const part = await this.some(left);
      if (part === undefined) throw bundleError('BUNDLE_TRUNCATED', `the bundle ends early, after ${what}`);
      left -= part.length;
    }
  }

  /**
   * The next member's header, or undefined at the end-of-archive marker. Refuses anything but a regular
   * file with a safe path and a size within the limit.
   */
  async next(after: string): Promise<TarHeader | undefined> {
    const block = await this.exact(BLOCK, `the header after ${after}`);
    if (isZeroBlock(block)) {
      const second = await this.exact(BLOCK, 'the end-of-archive marker');
      if (!isZeroBlock(second)) throw bundleError('BUNDLE_CORRUPT', `bundle is corrupt: a lone zero block after ${after}`);
      return undefined;
    }
    const header = decodeHeader(block);
    if (header.type !== '0') {
      const kind = TYPE_NAMES[header.type] ?? `an entry of unknown type ${quote(header.type)}`;
      throw bundleError('BUNDLE_UNSAFE_MEMBER', `member ${quote(header.path)} is ${kind}, not a regular file`);
    }
    const unsafe = unsafePathReason(header.path);
    if (unsafe !== undefined) throw bundleError('BUNDLE_UNSAFE_MEMBER', `member ${quote(header.path)} has ${unsafe}`);
    if (header.size > this.maxMemberBytes) {
      throw bundleError('BUNDLE_TOO_LARGE', `member ${quote(header.path)} says it is ${header.size} bytes; a member is at most ${this.maxMemberBytes}`);
    }
    return header;
  }

  /** After the end-of-archive marker: only zeros (at most 64 KiB), then the end of the gzip stream. */
  async finish(): Promise<void> {
    let zeros = 0;
    for (;;) {
      const part = await this.some(BLOCK * 16);
      if (part === undefined) return;
      if (!isZeroBlock(part)) throw bundleError('BUNDLE_CORRUPT', 'bundle is corrupt: data after the end of the archive');
      zeros += part.length;
      if (zeros > FORMAT_LIMITS.maxTrailingZeroBytes) throw bundleError('BUNDLE_CORRUPT', 'bundle is corrupt: too much padding after the end of the archive');
    }
  }

  /** Stops reading: destroys the streams underneath. */
  async close(): Promise<void> {
    await this.source.return(undefined);
  }
}
