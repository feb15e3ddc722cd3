/**
 * Models in and out of bytes and files: decode/encode, reading with external data, atomic writing.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { decodeModelProto } from './decode.js';
import { encodeModelProto } from './encode.js';
import { OnnxFormatError } from './errors.js';
import { externalizeInitializers, loadExternalData } from './external.js';
import type { Model } from './types.js';
import { validateModel } from './validate.js';

/**
 * Decodes ONNX protobuf bytes. Tensor payloads (`rawData`) are views of `bytes`, not copies: don't
 * modify `bytes` afterwards. Throws OnnxFormatError (one line, with the byte offset) on malformed input.
 */
export function decodeModel(bytes: Uint8Array): Model {
  // A Node Buffer's slice() is a view, not a copy: decode through a plain Uint8Array so that every
  // tensor view (rawData) behaves as a Uint8Array everywhere.
  const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeModelProto(plain);
}

/**
 * Encodes a model as ONNX protobuf bytes, in the field order Python's protobuf uses: a model saved by
 * Python's onnx and decoded with `decodeModel` encodes back byte-identical.
 */
export function encodeModel(model: Model): Uint8Array {
  const bytes = encodeModelProto(model);
  // The writer's buffer may be much larger than the model; hand back a tight copy then.
  return bytes.buffer.byteLength - bytes.length > bytes.length / 4 ? bytes.slice() : bytes;
}

/**
 * Reads and decodes a model file. With `externalData` (the default), tensors stored in external files are
 * read into `rawData` and become inline; their locations must be relative, stay inside the model's
 * folder (no `..`, no symlink out) and lie within their file. With `validate` (the default) the model is
 * then checked as validate.ts says: no cycle, tensor data that matches its dims, sane declared shapes.
 * Errors are one line and name the file.
 */
export async function readModel(path: string, opts: { externalData?: boolean; validate?: boolean } = {}): Promise<Model> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new AkbError('MODEL_UNREADABLE', `cannot read model ${path}: ${errnoText(e)}`);
  }
  let model: Model;
  try {
    model = decodeModelProto(bytes);
  } catch (e) {
    if (e instanceof OnnxFormatError) throw new OnnxFormatError(`${path}: ${e.message}`, { offset: e.offset });
    throw e;
  }
  try {
    if (opts.externalData ?? true) await loadExternalData(model, dirname(path));
    if (opts.validate ?? true) validateModel(model);
  } catch (e) {
    if (e instanceof OnnxFormatError) throw new OnnxFormatError(`${path}: ${e.message}`, { offset: e.offset, ...(e.hint ? { hint: e.hint } : {}) });
    throw e;
  }
  return model;
}

/**
 * Writes a model to `path` atomically: a temporary file in the same folder, fsync, then rename, so the
 * path holds either the old file or the complete new one, never a partial write. With
 * `externalDataThreshold`, main-graph initializers with at least that many bytes of `rawData` go to
 * `<name>.data` beside the model (written the same way, renamed first); the caller's model is not changed.
 * Tensors still marked as external (read with `externalData: false`) are written as references unchanged.
 */
export async function writeModelAtomic(path: string, model: Model, opts: { externalDataThreshold?: number } = {}): Promise<void> {
  const dir = dirname(path);
  const files: { path: string; chunks: Uint8Array[] }[] = [];
  let toEncode = model;
  if (opts.externalDataThreshold !== undefined) {
    const dataName = `${basename(path)}.data`;
    const { model: outer, chunks } = externalizeInitializers(model, dataName, opts.externalDataThreshold);
    toEncode = outer;
    if (chunks.length > 0) files.push({ path: join(dir, dataName), chunks });
  }
  files.push({ path, chunks: [encodeModel(toEncode)] });

  const temps: string[] = [];
  try {
    for (const f of files) {
      const temp = join(dir, `.${basename(f.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      temps.push(temp);
      await writeSynced(temp, f.chunks);
    }
    for (let i = 0; i < files.length; i++) await rename(temps[i]!, files[i]!.path);
    temps.length = 0;
    await syncDir(dir);
  } catch (e) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    throw new AkbError('WRITE_FAILED', `cannot write model ${path}: ${errnoText(e)}`, { cause: e });
  }
}

async function writeSynced(path: string, chunks: Uint8Array[]): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    for (const c of chunks) {
      let done = 0;
      while (done < c.length) done += (await fh.write(c, done, c.length - done)).bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes the renames durable; some file systems refuse to fsync a folder, which is harmless. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}

/** A Node file-system error as a short phrase: `ENOENT: no such file or directory`. */
export function errnoText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const msg = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return code ? `${code}: ${msg}` : msg;
  }
  return String(e);
}
