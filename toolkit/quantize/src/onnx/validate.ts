/**
 * Checks a decoded model against the rules of ONNX that the decoder cannot see one field at a time, so
 * that `akb inspect` and `akb quantize` refuse a corrupt or hostile model with one line instead of
 * reporting nonsense or running out of memory:
 *
 * - **no cycles**: no node may read, directly or through others, a tensor it computes itself, in the main
 *   graph or in any subgraph (If, Loop and Scan bodies; a node whose body reads the node's own output
 *   counts too). The message names the nodes around the cycle.
 * - **tensor data matches its shape**: every initializer, sparse initializer and tensor attribute (a
 *   Constant's value) holds exactly the bytes or values its dims and data type need. A model whose
 *   dims claim 1.1 T parameters over a few bytes of data is refused here, before anything sizes a buffer
 *   from those dims.
 * - **declared shapes are sane**: the static dims of every graph input, output and value_info (and of
 *   every tensor) are safe integers whose product stays within `MAX_TENSOR_ELEMENTS`.
 *
 * Errors are OnnxFormatError (code ONNX_FORMAT, exit 1); `readModel` prefixes the file name.
 */
import { OnnxFormatError } from './errors.js';
import { EXTERNAL } from './external.js';
import { nodeReads } from './graph.js';
import { dataTypeName, tensorByteLength } from './tensor.js';
import { DataType, type Graph, type Model, type Node, type TensorProto, type ValueInfo } from './types.js';

/**
 * The most elements one tensor may declare: 2^40 (1.1 T), 4 TiB as float32. No board akb deploys to,
 * nor any host, holds a tensor that size; a larger declared shape is corruption (a flipped bit in a dim)
 * or an attack on whatever sizes a buffer from it.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 40;

/** Throws OnnxFormatError when the model has a cycle, tensor data that does not match its shape, or absurd dims. */
export function validateModel(model: Model): void {
  visitGraphs(model.graph, 'main graph', (g, where) => {
    checkAcyclic(g, where);
    for (const v of [...g.input, ...g.output, ...g.valueInfo]) checkValueInfo(v, where);
    for (const t of g.initializer) checkTensor(t, `initializer '${t.name}'`);
    for (const s of g.sparseInitializer) {
      const name = s.values?.name ?? '?';
      checkDims(s.dims, `sparse initializer '${name}'`);
      if (s.values) checkTensor(s.values, `sparse initializer '${name}' (its values)`);
      if (s.indices) checkTensor(s.indices, `sparse initializer '${name}' (its indices)`);
    }
    for (const n of g.node) {
      for (const a of n.attribute) {
        const owner = `attribute '${a.name}' of ${describeNode(n)}`;
        if (a.t) checkTensor(a.t, `the tensor of ${owner}`);
        (a.tensors ?? []).forEach((t, i) => checkTensor(t, `tensor ${i} of ${owner}`));
      }
    }
  });
}

/** Calls `visit` on `g` and every subgraph below it, with a phrase saying where it is. */
function visitGraphs(g: Graph, where: string, visit: (g: Graph, where: string) => void): void {
  visit(g, where);
  for (const n of g.node) {
    for (const a of n.attribute) {
      const subs = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
      for (const sub of subs) visitGraphs(sub, `subgraph '${a.name}' of ${describeNode(n)}`, visit);
    }
  }
}

function describeNode(n: Node): string {
  return `${n.opType} node '${n.name || '(unnamed)'}'`;
}

/**
 * Refuses a cycle among the nodes of one graph. Names produced outside it (inputs, initializers, outer
 * scopes) are available from the start. Kahn's algorithm finds the nodes that never become ready; walking
 * back from one of them through producers that are stuck too must come round, and that loop is named.
 */
function checkAcyclic(g: Graph, where: string): void {
  const nodes = g.node;
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output) if (o !== '') producer.set(o, i);
  });
  const preds: number[][] = nodes.map((n, i) => {
    const from = new Set<number>();
    for (const r of nodeReads(n)) {
      const p = producer.get(r);
      if (p === i) throw new OnnxFormatError(`${where} has a cycle: ${describeNode(n)} reads '${r}', which it computes itself`);
      if (p !== undefined) from.add(p);
    }
    return [...from];
  });
  const waiting = preds.map((p) => p.length);
  const dependents: number[][] = nodes.map(() => []);
  preds.forEach((ps, i) => {
    for (const p of ps) dependents[p]!.push(i);
  });
  const ready = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop()!;
    done++;
    for (const d of dependents[i]!) if (--waiting[d]! === 0) ready.push(d);
  }
  if (done === nodes.length) return;
  // Every stuck node has a stuck predecessor: follow them until one repeats.
  const stuck = (i: number): boolean => waiting[i]! > 0;
  const path: number[] = [];
  const seenAt = new Map<number, number>();
  let at = nodes.findIndex((_, i) => stuck(i));
  while (!seenAt.has(at)) {
    seenAt.set(at, path.length);
    path.push(at);
    at = preds[at]!.find(stuck)!;
  }
  const loop = path.slice(seenAt.get(at)).reverse(); // producers first
  const start = loop.indexOf(Math.min(...loop)); // from the node that comes first in the file
  loop.push(...loop.splice(0, start));
  const names = [...loop, loop[0]!].map((i) => `'${nodes[i]!.name || nodes[i]!.opType}'`).join(' -> ');
  throw new OnnxFormatError(`${where} has a cycle: ${names} (each node reads the one before it, so none can run first)`);
}

/** Element count of `dims`, refusing non-integer, unsafe or absurd ones; `what` names the owner. */
function checkDims(dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new OnnxFormatError(`${what} has an invalid dimension ${d} in [${dims.join(', ')}]`);
    n *= d;
  }
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new OnnxFormatError(`${what} declares dims [${dims.join(', ')}]: ${formatCount(n)} elements, past the limit of ${formatCount(MAX_TENSOR_ELEMENTS)} (2^40): a corrupt or hostile shape`);
  }
  return n;
}

/** Static dims of a graph input, output or value_info: the product of the known ones must be sane. */
function checkValueInfo(v: ValueInfo, where: string): void {
  const dims = v.type?.tensorType?.shape?.dim;
  if (!dims) return;
  const known: number[] = [];
  for (const d of dims) {
    if (d.dimValue === undefined) continue;
    if (!Number.isSafeInteger(d.dimValue)) throw new OnnxFormatError(`'${v.name}' (${where}) has dimension ${d.dimValue}, beyond 2^53: a corrupt or hostile shape`);
    if (d.dimValue >= 0) known.push(d.dimValue); // -1 is how some exporters wrote an unknown dim
  }
  checkDims(known, `'${v.name}' (${where})`);
}

/** How many values each typed field must hold for `count` elements of `dataType`, and which field. */
function typedField(t: TensorProto, count: number): { field: string; have: number; need: number } | undefined {
  switch (t.dataType) {
    case DataType.FLOAT: return { field: 'float_data', have: t.floatData?.length ?? 0, need: count };
    case DataType.COMPLEX64: return { field: 'float_data', have: t.floatData?.length ?? 0, need: 2 * count };
    case DataType.DOUBLE: return { field: 'double_data', have: t.doubleData?.length ?? 0, need: count };
    case DataType.COMPLEX128: return { field: 'double_data', have: t.doubleData?.length ?? 0, need: 2 * count };
    case DataType.INT64: return { field: 'int64_data', have: t.int64Data?.length ?? 0, need: count };
    case DataType.UINT32:
    case DataType.UINT64: return { field: 'uint64_data', have: t.uint64Data?.length ?? 0, need: count };
    case DataType.STRING: return { field: 'string_data', have: t.stringData?.length ?? 0, need: count };
    case DataType.INT4:
    case DataType.UINT4: return { field: 'int32_data', have: t.int32Data?.length ?? 0, need: Math.ceil(count / 2) };
    case DataType.INT32:
    case DataType.INT16:
    case DataType.INT8:
    case DataType.UINT16:
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ: return { field: 'int32_data', have: t.int32Data?.length ?? 0, need: count };
    default: return undefined;
  }
}

/** A tensor's stored data must be exactly what its dims and data type need. */
function checkTensor(t: TensorProto, what: string): void {
  const count = checkDims(t.dims, what);
  const declared = (): string => {
    const bytes = tensorByteLength(t.dataType, count);
    return `${dataTypeName(t.dataType)} [${t.dims.join(', ')}] (${formatCount(count)} elements${bytes !== undefined ? `, ${formatBytes(bytes)}` : ''})`;
  };
  if (t.segment !== undefined) return; // a chunk of a larger tensor: its data is a slice, checked when joined
  if (t.dataLocation === EXTERNAL) {
    const length = t.externalData?.find((e) => e.key === 'length')?.value;
    const need = tensorByteLength(t.dataType, count);
    if (length !== undefined && need !== undefined && /^\d+$/.test(length) && Number(length) !== need) {
      throw new OnnxFormatError(`${what} declares ${declared()} but its external data is ${length} bytes long`);
    }
    return;
  }
  if (t.rawData !== undefined) {
    const need = tensorByteLength(t.dataType, count);
    if (need !== undefined && need !== t.rawData.length) throw new OnnxFormatError(`${what} declares ${declared()} but holds ${formatBytes(t.rawData.length)} of raw data`);
    return;
  }
  const typed = typedField(t, count);
  if (typed === undefined) return; // a data type this reader does not know: left to onnxruntime
  if (typed.have !== typed.need) throw new OnnxFormatError(`${what} declares ${declared()} but holds ${typed.have} values in ${typed.field}`);
}

/** 1099511627776 -> '1.1 T'; numbers below 1000 as they are. */
export function formatCount(n: number): string {
  if (n >= 1e21) return n.toExponential(1);
  const units = ['', ' k', ' M', ' G', ' T', ' P', ' E'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? String(n) : `${v.toPrecision(v >= 100 ? 3 : 2)}${units[i]}`;
}

/** 16 -> '16 bytes', 4398046511104 -> '4.4 TB'. */
function formatBytes(n: number): string {
  return n < 1000 ? `${n} bytes` : `${formatCount(n)}B`;
}
