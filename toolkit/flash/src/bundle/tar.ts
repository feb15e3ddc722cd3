/**
 * POSIX ustar headers, written and parsed by hand (512-byte blocks; no tar dependency). The writer makes
 * exactly one kind of header: a regular file (type `0`), owner and group 0 with empty names, the given
 * mode and mtime. The parser trusts nothing: it checks the checksum, the magic, every numeric field's
 * octal digits, and that the name is UTF-8; what the member may be (its type, its path) the reader decides.
 */
import { AkbError } from '@akb/protocol';

export const BLOCK = 512;
const NAME_LEN = 100;
const PREFIX_LEN = 155;
/** The ustar size field holds 11 octal digits: 8 GiB - 1. */
export const MAX_USTAR_SIZE = 8 ** 11 - 1;

export interface TarHeader {
  /** prefix + "/" + name when a prefix is present. */
  path: string;
  /** Type flag as a character (`0` regular, `2` symlink, `5` directory, ...). */
  type: string;
  size: number;
  mode: number;
  mtime: number;
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Splits `path` into ustar prefix and name, or undefined when it cannot be stored without an extension. */
export function splitUstarPath(path: string): { prefix: string; name: string } | undefined {
  const bytes = encoder.encode(path).length;
  if (bytes <= NAME_LEN) return { prefix: '', name: path };
  // The split point is a "/" such that the prefix fits in 155 bytes and the rest in 100.
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (encoder.encode(name).length > NAME_LEN) return undefined;
    if (encoder.encode(prefix).length <= PREFIX_LEN && name !== '') return { prefix, name };
  }
  return undefined;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > length) throw new Error(`tar field overflow: ${value}`);
  block.set(bytes, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** A regular-file header (type `0`). Throws a plain Error on a path or size the caller should have checked. */
export function encodeFileHeader(path: string, size: number, mode: number, mtime: number): Buffer {
  const split = splitUstarPath(path);
  if (split === undefined) throw new Error(`path does not fit a ustar header: ${path}`);
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_USTAR_SIZE) throw new Error(`size out of range: ${size}`);
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, NAME_LEN, split.name);
  writeOctal(block, 100, 8, mode);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, mtime);
  block.write('        ', 148, 'latin1');
  block.write('0', 156, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  writeString(block, 345, PREFIX_LEN, split.prefix);
  writeString(block, 148, 8, `${checksumOf(block).toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** Sum of the header's bytes with the checksum field read as eight spaces. */
function checksumOf(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  return sum;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function corrupt(message: string): AkbError {
  return new AkbError('BUNDLE_CORRUPT', `bundle is corrupt: ${message}`, { hint: 'the file is damaged or not an akb bundle; fetch or rebuild it' });
}

function field(block: Uint8Array, offset: number, length: number): Uint8Array {
  const raw = block.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return nul === -1 ? raw : raw.subarray(0, nul);
}

function readText(block: Uint8Array, offset: number, length: number, what: string): string {
  try {
    return strictUtf8.decode(field(block, offset, length));
  } catch {
    throw corrupt(`tar ${what} is not UTF-8`);
  }
}

/** Octal digits, optionally padded with spaces or NULs; GNU base-256 and anything else are refused. */
function readOctal(block: Uint8Array, offset: number, length: number, what: string): number {
  const text = Buffer.from(block.subarray(offset, offset + length)).toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]{0,12}$/.test(text)) throw corrupt(`tar header ${what} field is not octal`);
  return text === '' ? 0 : parseInt(text, 8);
}

/** Parses one 512-byte header block that is not all zeros. */
export function decodeHeader(block: Uint8Array): TarHeader {
  const stored = readOctal(block, 148, 8, 'checksum');
  if (stored !== checksumOf(block)) throw corrupt('tar header checksum does not match');
  const magic = Buffer.from(block.subarray(257, 265)).toString('latin1');
  if (magic !== 'ustar\u000000') throw corrupt('not a POSIX ustar header (magic "ustar\\0", version "00")');
  const name = readText(block, 0, NAME_LEN, 'name');
  const prefix = readText(block, 345, PREFIX_LEN, 'prefix');
  return {
    path: prefix === '' ? name : `${prefix}/${name}`,
    type: String.fromCharCode(block[156] as number),
    size: readOctal(block, 124, 12, 'size'),
    mode: readOctal(block, 100, 8, 'mode'),
    mtime: readOctal(block, 136, 12, 'mtime'),
  };
}

/** Zero bytes that pad `size` to a whole block. */
export function paddingOf(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Why a member path is unsafe to create under a folder, or undefined when it is a plain relative path. */
export function unsafePathReason(path: string): string | undefined {
  if (path === '') return 'an empty path';
  if (path.startsWith('/')) return 'an absolute path';
  if (path.includes('\\')) return 'a backslash';
  if (path.includes('\0')) return 'a NUL byte';
  for (const segment of path.split('/')) {
    if (segment === '..') return 'a ".." segment';
    if (segment === '.') return 'a "." segment';
    if (segment === '') return 'an empty segment';
  }
  return undefined;
}

/** Names of tar entry types that are not regular files, for error messages. */
export const TYPE_NAMES: Readonly<Record<string, string>> = {
  '\0': 'an old-style regular file (type NUL; the format wants type 0)',
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
  '7': 'a contiguous file',
  x: 'a pax extended header',
  g: 'a pax global header',
  L: 'a GNU long name',
  K: 'a GNU long link name',
};
