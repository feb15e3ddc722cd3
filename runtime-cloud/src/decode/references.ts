/**
 * References from a folder of originals: an image named `name` in its meta is compared with
 * `<dir>/<name>` (or `<dir>/<basename of name>`), PNG or JPEG. A name that would leave the folder is
 * refused; a missing file means "no reference" (no PSNR), not an error. Recently read images are cached.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { AkbError } from '@akb/protocol';
import { decodeImage, type RgbImage } from '@akb/jscc';
import type { ReferenceResolver } from './images.js';

const CACHE = 16;

export function folderReferences(dir: string): ReferenceResolver {
  const root = resolve(dir);
  const cache = new Map<string, Promise<RgbImage | undefined>>();
  const read = async (name: string): Promise<RgbImage | undefined> => {
    for (const candidate of [name, basename(name)]) {
      const path = resolve(root, candidate);
      const rel = relative(root, path);
      if (rel === '' || rel.startsWith('..') || resolve(root, rel) !== path) {
        throw new AkbError('BAD_REFERENCE_NAME', `image name ${JSON.stringify(name.slice(0, 100))} leaves the references folder`);
      }
      let bytes: Uint8Array;
      try {
        bytes = await readFile(join(root, rel));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      return decodeImage(bytes, path);
    }
    return undefined;
  };
  return (name) => {
    let p = cache.get(name);
    if (p === undefined) {
      p = read(name);
      cache.set(name, p);
      if (cache.size > CACHE) cache.delete(cache.keys().next().value!);
      p.catch(() => cache.delete(name));
    }
    return p;
  };
}
