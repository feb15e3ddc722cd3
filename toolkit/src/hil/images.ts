/**
 * The images of a plan: a folder (PNG and JPEG files, sorted by name) or a list of files, bounded by
 * `limit` and `maxSide`. Each image is read once, size-checked before it is decoded (a file over
 * MAX_IMAGE_FILE_BYTES is refused), and kept as its bytes (what a device target is sent) and its pixels
 * (the reference the cloud measures against).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { decodeImage, type RgbImage } from '@akb/jscc';
import type { HilPlan } from './plan.js';

/** Largest image file read (a Kodak PNG is ~0.6 MB). */
export const MAX_IMAGE_FILE_BYTES = 32 * 1024 * 1024;

export interface PlanImage {
  /** Unique name: the file name, or the path relative to the plan when two share a name. */
  name: string;
  path: string;
  bytes: Buffer;
  image: RgbImage;
}

export async function loadPlanImages(images: HilPlan['images'], dir: string): Promise<PlanImage[]> {
  const rel = (p: string): string => (isAbsolute(p) ? p : join(dir, p));
  let paths: string[];
  if (images.folder !== undefined) {
    const folder = rel(images.folder);
    const names = (await readdir(folder)).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
    paths = names.map((f) => join(folder, f));
  } else {
    paths = (images.files ?? []).map(rel);
  }
  const out: PlanImage[] = [];
  const limit = images.limit ?? Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  for (const path of paths) {
    if (out.length >= limit) break;
    const { bytes, image } = await readImage(path);
    if (images.maxSide !== undefined && Math.max(image.width, image.height) > images.maxSide) continue;
    let name = basename(path);
    if (seen.has(name)) name = path;
    seen.add(name);
    out.push({ name, path, bytes, image });
  }
  if (out.length === 0) {
    throw new AkbError('NO_IMAGES', `the plan's images give no PNG or JPEG image${images.maxSide === undefined ? '' : ` of at most ${images.maxSide} pixels a side`}`, {
      hint: 'point images.folder at a folder of PNG/JPEG files (e.g. models/samples/cifar10-test)',
      exitCode: 2,
    });
  }
  return out;
}

/** One image file, bounded before it is read; any failure is an AkbError naming the file, exit code 2. */
async function readImage(path: string): Promise<{ bytes: Buffer; image: RgbImage }> {
  let bytes: Buffer;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_IMAGE_FILE_BYTES) {
      throw new AkbError('IMAGE_TOO_LARGE', `${path}: ${size} bytes; an image file is at most ${MAX_IMAGE_FILE_BYTES} bytes`, { exitCode: 2 });
    }
    bytes = await readFile(path);
  } catch (e) {
    if (e instanceof AkbError) throw e;
    throw new AkbError('IMAGE_UNREADABLE', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { exitCode: 2, cause: e });
  }
  try {
    return { bytes, image: await decodeImage(bytes, path) };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new AkbError('BAD_IMAGE', `${why.startsWith(path) ? '' : `${path}: `}${why}`, { hint: 'the plan\'s images are PNG or JPEG files', exitCode: 2, cause: e });
  }
}
