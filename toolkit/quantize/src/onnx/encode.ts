/**
 * The plain objects of types.ts -> ONNX protobuf bytes, written the way Python's protobuf writes them, so
 * that a model saved by Python's onnx round-trips byte-identical:
 * - fields in field-number order; unknown fields (kept raw by decode.ts) merged in by their number;
 * - optional fields only when set (`undefined` = absent); non-optional scalars always, unless listed in
 *   `absent` and still holding their default;
 * - TensorProto's float/int32/int64/double/uint64 data packed (onnx.proto says `packed = true`); dims,
 *   attribute floats and ints unpacked (proto2's default).
 */
import type {
  Attribute,
  Dimension,
  Graph,
  HasUnknown,
  Model,
  Node,
  OperatorSetId,
  SparseTensorProto,
  StringStringEntry,
  TensorProto,
  TensorShape,
  TypeProto,
  ValueInfo,
} from './types.js';
import { WireReader, WireType, WireWriter } from './wire.js';

const { VARINT, LEN, I32 } = WireType;
type TensorAnnotation = Graph['quantizationAnnotation'][number];
type TensorType = NonNullable<TypeProto['tensorType']>;

/** Encodes a ModelProto. */
export function encodeModelProto(m: Model): Uint8Array {
  const w = new WireWriter(initialCapacity(m));
  const u = new UnknownMerge(w, m);
  u.upTo(1);
  if (present(m, 'irVersion', m.irVersion, 0)) int64(w, 1, m.irVersion);
  u.upTo(2);
  if (m.producerName !== undefined) str(w, 2, m.producerName);
  u.upTo(3);
  if (m.producerVersion !== undefined) str(w, 3, m.producerVersion);
  u.upTo(4);
  if (m.domain !== undefined) str(w, 4, m.domain);
  u.upTo(5);
  if (m.modelVersion !== undefined) int64(w, 5, m.modelVersion);
  u.upTo(6);
  if (m.docString !== undefined) str(w, 6, m.docString);
  u.upTo(7);
  if (!(m.absent?.includes('graph') && isEmptyGraph(m.graph))) w.message(7, () => encodeGraph(w, m.graph));
  u.upTo(8);
  for (const o of m.opsetImport) w.message(8, () => encodeOpset(w, o));
  u.upTo(14);
  for (const e of m.metadataProps) w.message(14, () => encodeEntry(w, e));
  u.upTo(25);
  for (const f of m.functions) {
    w.tag(25, LEN);
    w.bytes(f.raw);
  }
  u.rest();
  return w.finish();
}

/** Encodes one TensorProto on its own. */
export function encodeTensorProto(t: TensorProto): Uint8Array {
  const w = new WireWriter(1024 + (t.rawData?.length ?? 0));
  encodeTensor(w, t);
  return w.finish();
}

/** A starting buffer size near the final one, so big models are not copied while the buffer grows. */
function initialCapacity(m: Model): number {
  let bytes = 1 << 16;
  for (const t of m.graph.initializer) bytes += (t.rawData?.length ?? 0) + 64;
  return bytes;
}

function isEmptyGraph(g: Graph): boolean {
  return g.node.length === 0 && g.initializer.length === 0 && g.input.length === 0 && g.output.length === 0 && g.name === '';
}

/** True when a non-optional scalar is to be written: always, unless marked absent and still default. */
function present(m: HasUnknown, name: string, value: string | number, fallback: string | number): boolean {
  return value !== fallback || m.absent === undefined || !m.absent.includes(name);
}

function str(w: WireWriter, field: number, s: string): void {
  w.tag(field, LEN);
  w.string(s);
}

function int64(w: WireWriter, field: number, v: number): void {
  w.tag(field, VARINT);
  w.int64(v);
}

function int32(w: WireWriter, field: number, v: number): void {
  w.tag(field, VARINT);
  w.int32(v);
}

const NONE: { field: number; raw: Uint8Array }[] = [];

/** Writes unknown fields in among the known ones, by field number (stable for equal numbers). */
class UnknownMerge {
  private readonly fields: { field: number; raw: Uint8Array }[];
  private next = 0;

  constructor(
    private readonly w: WireWriter,
    m: HasUnknown,
  ) {
    this.fields = m.unknownFields === undefined ? NONE : m.unknownFields.map((raw) => ({ field: fieldNumber(raw), raw }));
    if (this.fields.length > 1) this.fields.sort((a, b) => a.field - b.field);
  }

  /** Writes the unknown fields numbered below `field`. */
  upTo(field: number): void {
    while (this.next < this.fields.length && this.fields[this.next]!.field < field) this.w.raw(this.fields[this.next++]!.raw);
  }

  rest(): void {
    this.upTo(Infinity);
  }
}

/** The field number in the tag at the start of a kept unknown field. */
function fieldNumber(raw: Uint8Array): number {
  return new WireReader(raw).tag() >>> 3;
}

function encodeGraph(w: WireWriter, g: Graph): void {
  const u = new UnknownMerge(w, g);
  u.upTo(1);
  for (const n of g.node) w.message(1, () => encodeNode(w, n));
  u.upTo(2);
  if (present(g, 'name', g.name, '')) str(w, 2, g.name);
  u.upTo(5);
  for (const t of g.initializer) w.message(5, () => encodeTensor(w, t));
  u.upTo(10);
  if (g.docString !== undefined) str(w, 10, g.docString);
  u.upTo(11);
  for (const v of g.input) w.message(11, () => encodeValueInfo(w, v));
  u.upTo(12);
  for (const v of g.output) w.message(12, () => encodeValueInfo(w, v));
  u.upTo(13);
  for (const v of g.valueInfo) w.message(13, () => encodeValueInfo(w, v));
  u.upTo(14);
  for (const a of g.quantizationAnnotation) w.message(14, () => encodeAnnotation(w, a));
  u.upTo(15);
  for (const s of g.sparseInitializer) w.message(15, () => encodeSparse(w, s));
  u.upTo(16);
  for (const e of g.metadataProps ?? []) w.message(16, () => encodeEntry(w, e));
  u.rest();
}

function encodeNode(w: WireWriter, n: Node): void {
  const u = new UnknownMerge(w, n);
  u.upTo(1);
  for (const s of n.input) str(w, 1, s);
  u.upTo(2);
  for (const s of n.output) str(w, 2, s);
  u.upTo(3);
  if (present(n, 'name', n.name, '')) str(w, 3, n.name);
  u.upTo(4);
  if (present(n, 'opType', n.opType, '')) str(w, 4, n.opType);
  u.upTo(5);
  for (const a of n.attribute) w.message(5, () => encodeAttribute(w, a));
  u.upTo(6);
  if (n.docString !== undefined) str(w, 6, n.docString);
  u.upTo(7);
  if (present(n, 'domain', n.domain, '')) str(w, 7, n.domain);
  u.upTo(8);
  if (n.overload !== undefined) str(w, 8, n.overload);
  u.upTo(9);
  for (const e of n.metadataProps ?? []) w.message(9, () => encodeEntry(w, e));
  u.rest();
}

function encodeAttribute(w: WireWriter, a: Attribute): void {
  const u = new UnknownMerge(w, a);
  u.upTo(1);
  if (present(a, 'name', a.name, '')) str(w, 1, a.name);
  u.upTo(2);
  if (a.f !== undefined) {
    w.tag(2, I32);
    w.float32(a.f);
  }
  u.upTo(3);
  if (a.i !== undefined) int64(w, 3, a.i);
  u.upTo(4);
  if (a.s !== undefined) {
    w.tag(4, LEN);
    w.bytes(a.s);
  }
  u.upTo(5);
  if (a.t !== undefined) w.message(5, () => encodeTensor(w, a.t!));
  u.upTo(6);
  if (a.g !== undefined) w.message(6, () => encodeGraph(w, a.g!));
  u.upTo(7);
  for (const f of a.floats ?? []) {
    w.tag(7, I32);
    w.float32(f);
  }
  u.upTo(8);
  for (const i of a.ints ?? []) int64(w, 8, i);
  u.upTo(9);
  for (const s of a.strings ?? []) {
    w.tag(9, LEN);
    w.bytes(s);
  }
  u.upTo(10);
  for (const t of a.tensors ?? []) w.message(10, () => encodeTensor(w, t));
  u.upTo(11);
  for (const g of a.graphs ?? []) w.message(11, () => encodeGraph(w, g));
  u.upTo(13);
  if (a.docString !== undefined) str(w, 13, a.docString);
  u.upTo(14);
  if (a.tp !== undefined) w.message(14, () => encodeType(w, a.tp!));
  u.upTo(15);
  for (const t of a.typeProtos ?? []) w.message(15, () => encodeType(w, t));
  u.upTo(20);
  if (present(a, 'type', a.type, 0)) int32(w, 20, a.type);
  u.upTo(21);
  if (a.refAttrName !== undefined) str(w, 21, a.refAttrName);
  u.upTo(22);
  if (a.sparseTensor !== undefined) w.message(22, () => encodeSparse(w, a.sparseTensor!));
  u.upTo(23);
  for (const s of a.sparseTensors ?? []) w.message(23, () => encodeSparse(w, s));
  u.rest();
}

/** A packed run of values: tag, byte length, then each value written by `one` (skipped when empty). */
function packed<T>(w: WireWriter, field: number, values: readonly T[] | undefined, one: (v: T) => void): void {
  if (values === undefined || values.length === 0) return;
  w.message(field, () => {
    for (const v of values) one(v);
  });
}

function encodeTensor(w: WireWriter, t: TensorProto): void {
  const u = new UnknownMerge(w, t);
  u.upTo(1);
  for (const d of t.dims) int64(w, 1, d);
  u.upTo(2);
  if (present(t, 'dataType', t.dataType, 0)) int32(w, 2, t.dataType);
  u.upTo(3);
  if (t.segment !== undefined) {
    const s = t.segment;
    w.message(3, () => {
      const us = new UnknownMerge(w, s);
      us.upTo(1);
      if (s.begin !== undefined) int64(w, 1, s.begin);
      us.upTo(2);
      if (s.end !== undefined) int64(w, 2, s.end);
      us.rest();
    });
  }
  u.upTo(4);
  packed(w, 4, t.floatData, (v) => w.float32(v));
  u.upTo(5);
  packed(w, 5, t.int32Data, (v) => w.int32(v));
  u.upTo(6);
  for (const s of t.stringData ?? []) {
    w.tag(6, LEN);
    w.bytes(s);
  }
  u.upTo(7);
  packed(w, 7, t.int64Data, (v) => w.int64Big(v));
  u.upTo(8);
  if (present(t, 'name', t.name, '')) str(w, 8, t.name);
  u.upTo(9);
  if (t.rawData !== undefined) {
    w.tag(9, LEN);
    w.bytes(t.rawData);
  }
  u.upTo(10);
  packed(w, 10, t.doubleData, (v) => w.float64(v));
  u.upTo(11);
  packed(w, 11, t.uint64Data, (v) => w.uint64Big(v));
  u.upTo(12);
  if (t.docString !== undefined) str(w, 12, t.docString);
  u.upTo(13);
  for (const e of t.externalData ?? []) w.message(13, () => encodeEntry(w, e));
  u.upTo(14);
  if (t.dataLocation !== undefined) int32(w, 14, t.dataLocation);
  u.upTo(16);
  for (const e of t.metadataProps ?? []) w.message(16, () => encodeEntry(w, e));
  u.rest();
}

function encodeSparse(w: WireWriter, s: SparseTensorProto): void {
  const u = new UnknownMerge(w, s);
  u.upTo(1);
  if (s.values !== undefined) w.message(1, () => encodeTensor(w, s.values!));
  u.upTo(2);
  if (s.indices !== undefined) w.message(2, () => encodeTensor(w, s.indices!));
  u.upTo(3);
  for (const d of s.dims) int64(w, 3, d);
  u.rest();
}

function encodeValueInfo(w: WireWriter, v: ValueInfo): void {
  const u = new UnknownMerge(w, v);
  u.upTo(1);
  if (present(v, 'name', v.name, '')) str(w, 1, v.name);
  u.upTo(2);
  if (v.type !== undefined) w.message(2, () => encodeType(w, v.type!));
  u.upTo(3);
  if (v.docString !== undefined) str(w, 3, v.docString);
  u.upTo(4);
  for (const e of v.metadataProps ?? []) w.message(4, () => encodeEntry(w, e));
  u.rest();
}

function encodeType(w: WireWriter, t: TypeProto): void {
  const u = new UnknownMerge(w, t);
  u.upTo(1);
  if (t.tensorType !== undefined) w.message(1, () => encodeTensorType(w, t.tensorType!));
  u.upTo(6);
  if (t.denotation !== undefined) str(w, 6, t.denotation);
  u.rest();
}

function encodeTensorType(w: WireWriter, t: TensorType): void {
  const u = new UnknownMerge(w, t);
  u.upTo(1);
  if (present(t, 'elemType', t.elemType, 0)) int32(w, 1, t.elemType);
  u.upTo(2);
  if (t.shape !== undefined) w.message(2, () => encodeShape(w, t.shape!));
  u.rest();
}

function encodeShape(w: WireWriter, s: TensorShape): void {
  const u = new UnknownMerge(w, s);
  u.upTo(1);
  for (const d of s.dim) w.message(1, () => encodeDimension(w, d));
  u.rest();
}

function encodeDimension(w: WireWriter, d: Dimension): void {
  const u = new UnknownMerge(w, d);
  u.upTo(1);
  if (d.dimValue !== undefined) int64(w, 1, d.dimValue);
  u.upTo(2);
  if (d.dimParam !== undefined) str(w, 2, d.dimParam);
  u.upTo(3);
  if (d.denotation !== undefined) str(w, 3, d.denotation);
  u.rest();
}

function encodeOpset(w: WireWriter, o: OperatorSetId): void {
  const u = new UnknownMerge(w, o);
  u.upTo(1);
  if (present(o, 'domain', o.domain, '')) str(w, 1, o.domain);
  u.upTo(2);
  if (present(o, 'version', o.version, 0)) int64(w, 2, o.version);
  u.rest();
}

function encodeEntry(w: WireWriter, e: StringStringEntry): void {
  const u = new UnknownMerge(w, e);
  u.upTo(1);
  if (present(e, 'key', e.key, '')) str(w, 1, e.key);
  u.upTo(2);
  if (present(e, 'value', e.value, '')) str(w, 2, e.value);
  u.rest();
}

function encodeAnnotation(w: WireWriter, a: TensorAnnotation): void {
  const u = new UnknownMerge(w, a);
  u.upTo(1);
  if (present(a, 'tensorName', a.tensorName, '')) str(w, 1, a.tensorName);
  u.upTo(2);
  for (const e of a.quantParameterTensorNames) w.message(2, () => encodeEntry(w, e));
  u.rest();
}
