/**
 * External tensor data: reading it into `rawData` (bounds-checked, confined to the model's folder) and
 * moving large initializers out to a data file when writing.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { OnnxFormatError } from './errors.js';
import { elementCount, tensorByteLength } from './tensor.js';
import type { Graph, Model, StringStringEntry, TensorProto } from './types.js';

/** TensorProto.DataLocation.EXTERNAL. */
export const EXTERNAL = 1;
/** Offsets in a data file are multiples of this (onnx.proto: SHOULD be page-aligned, for mmap). */
const ALIGN = 4096;

/** Calls `visit` on every TensorProto of a graph, its nodes' attributes and its subgraphs. */
export function forEachTensor(graph: Graph, visit: (t: TensorProto) => void): void {
  for (const t of graph.initializer) visit(t);
  for (const s of graph.sparseInitializer) {
    if (s.values) visit(s.values);
    if (s.indices) visit(s.indices);
  }
  for (const n of graph.node) {
    for (const a of n.attribute) {
      if (a.t) visit(a.t);
      for (const t of a.tensors ?? []) visit(t);
      for (const s of [...(a.sparseTensor ? [a.sparseTensor] : []), ...(a.sparseTensors ?? [])]) {
        if (s.values) visit(s.values);
        if (s.indices) visit(s.indices);
      }
      if (a.g) forEachTensor(a.g, visit);
      for (const g of a.graphs ?? []) forEachTensor(g, visit);
    }
  }
}

/** Where a tensor's external bytes are, parsed and validated (strings as stored in the model). */
interface ExternalRef {
  location: string;
  offset: number;
  length: number | undefined;
}

function parseRef(t: TensorProto): ExternalRef {
  const entries = new Map((t.externalData ?? []).map((e: StringStringEntry) => [e.key, e.value]));
  const location = entries.get('location');
  if (!location) throw new OnnxFormatError(`tensor '${t.name}' is stored externally but has no location`);
  const num = (key: string): number | undefined => {
    const v = entries.get(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw new OnnxFormatError(`tensor '${t.name}': external data ${key} '${v}' is not a byte count`);
    }
    return Number(v);
  };
  return { location, offset: num('offset') ?? 0, length: num('length') };
}

/** Resolves `location` inside `dir`; refuses absolute paths, `..` escapes and symlinks that leave it. */
async function confinedPath(dir: string, location: string, tensor: string): Promise<string> {
  const bad = (why: string): never => {
    throw new OnnxFormatError(`tensor '${tensor}': external data location '${location}' ${why}`);
  };
  if (location.includes('\0')) bad('contains a NUL byte');
  if (isAbsolute(location) || /^[A-Za-z]:/.test(location) || location.startsWith('\\')) bad('is absolute; it must be relative to the model folder');
  const inside = (root: string, p: string): boolean => {
    const rel = relative(root, p);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  };
  const root = resolve(dir);
  const full = resolve(root, location);
  if (!inside(root, full)) bad('escapes the model folder');
  let real: string;
  try {
    real = await realpath(full);
  } catch {
    throw new OnnxFormatError(`tensor '${tensor}': external data file '${location}' is missing (looked in ${root})`);
  }
  if (!inside(await realpath(root), real)) bad('links outside the model folder');
  return real;
}

/**
 * Reads every externally stored tensor of `model` into `rawData` (the tensor becomes inline: its
 * `dataLocation` and `externalData` are removed). `dir` is the model file's folder.
 */
export async function loadExternalData(model: Model, dir: string): Promise<void> {
  const pending: TensorProto[] = [];
  forEachTensor(model.graph, (t) => {
    if (t.dataLocation === EXTERNAL) pending.push(t);
  });
  if (pending.length === 0) return;
  const handles = new Map<string, { fh: FileHandle; size: number }>();
  try {
    for (const t of pending) {
      const ref = parseRef(t);
      const file = await confinedPath(dir, ref.location, t.name);
      let h = handles.get(file);
      if (!h) {
        const fh = await open(file, 'r');
        const st = await fh.stat();
        h = { fh, size: st.size };
        handles.set(file, h);
        if (!st.isFile()) throw new OnnxFormatError(`tensor '${t.name}': external data '${ref.location}' is not a file`);
      }
      const length = ref.length ?? h.size - ref.offset;
      if (ref.offset > h.size || length < 0 || ref.offset + length > h.size) {
        throw new OnnxFormatError(
          `tensor '${t.name}': external data bytes ${ref.offset}..${ref.offset + length} lie outside '${ref.location}' (${h.size} bytes)`,
        );
      }
      const expected = t.segment ? undefined : tensorByteLength(t.dataType, elementCount(t.dims));
      if (expected !== undefined && expected !== length) {
        throw new OnnxFormatError(`tensor '${t.name}': external data holds ${length} bytes, its shape [${t.dims.join(', ')}] needs ${expected}`);
      }
      const bytes = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await h.fh.read(bytes, done, length - done, ref.offset + done);
        if (bytesRead === 0) throw new OnnxFormatError(`tensor '${t.name}': external data file '${ref.location}' ended early`);
        done += bytesRead;
      }
      t.rawData = bytes;
      delete t.dataLocation;
      delete t.externalData;
    }
  } finally {
    await Promise.all([...handles.values()].map((h) => h.fh.close()));
  }
}

/**
 * A shallow copy of `model` whose main-graph initializers of at least `threshold` bytes point into the
 * data file `dataName` instead of holding their bytes, and the chunks that make up that file (each
 * tensor at a 4096-aligned offset). The input model is not changed.
 */
export function externalizeInitializers(model: Model, dataName: string, threshold: number): { model: Model; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const initializer = model.graph.initializer.map((t): TensorProto => {
    const raw = t.rawData;
    if (raw === undefined || raw.length < threshold || t.dataLocation === EXTERNAL) return t;
    const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
    if (pad > 0) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(raw);
    const entry = (key: string, value: string): StringStringEntry => ({ key, value });
    const out: TensorProto = {
      ...t,
      dataLocation: EXTERNAL,
      externalData: [entry('location', dataName), entry('offset', String(offset)), entry('length', String(raw.length))],
    };
    delete out.rawData;
    offset += raw.length;
    return out;
  });
  return { model: { ...model, graph: { ...model.graph, initializer } }, chunks };
}
