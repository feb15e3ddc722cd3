/**
 * Replaces a file atomically: the bytes written to `<path>.tmp`, fsynced, renamed over `path`. On any
 * failure the temporary file is removed (best effort) and `path` is unchanged; the error is rethrown as is
 * for the caller to describe (fs-errors.ts).
 */
import { open, rename, rm } from 'node:fs/promises';

export async function replaceFile(path: string, bytes: Uint8Array | string, mode?: number): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}
