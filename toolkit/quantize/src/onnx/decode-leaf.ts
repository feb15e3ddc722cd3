/**
 * Decoders of onnx.proto's small messages (types, shapes, opsets, string pairs, annotations, segments)
 * and the helpers every decoder shares. See decode.ts.
 */
import type { Dimension, Graph, HasUnknown, OperatorSetId, StringStringEntry, TensorProto, TensorShape, TypeProto } from './types.js';
import { WireType, type WireReader } from './wire.js';

const { VARINT, LEN } = WireType;
type TensorAnnotation = Graph['quantizationAnnotation'][number];
type TensorType = NonNullable<TypeProto['tensorType']>;

/** Decodes one length-delimited submessage with `decode`, narrowing the reader to it. */
export function sub<T>(r: WireReader, context: string, decode: (r: WireReader) => T): T {
  const saved = r.enter();
  const outer = r.context;
  r.context = context;
  const v = decode(r);
  r.context = outer;
  r.leave(saved);
  return v;
}

export function unknown(r: WireReader, m: HasUnknown, tag: number, start: number): void {
  r.skip(tag, start);
  (m.unknownFields ??= []).push(r.buf.subarray(start, r.pos));
}

/** Records which non-optional fields were absent: bit i of `seen` stands for `names[i]`. */
export function markAbsent(m: HasUnknown, seen: number, names: readonly string[]): void {
  const all = (1 << names.length) - 1;
  if ((seen & all) === all) return;
  m.absent = names.filter((_, i) => (seen & (1 << i)) === 0);
}

export function decodeSegment(r: WireReader): NonNullable<TensorProto['segment']> {
  const s: NonNullable<TensorProto['segment']> = {};
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, VARINT, start); s.begin = r.int64(); break;
      case 2: r.expect(tag, VARINT, start); s.end = r.int64(); break;
      default: unknown(r, s, tag, start);
    }
  }
  return s;
}

export function decodeType(r: WireReader): TypeProto {
  const t: TypeProto = {};
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, LEN, start); t.tensorType = sub(r, 'TypeProto.Tensor', decodeTensorType); break;
      case 6: r.expect(tag, LEN, start); t.denotation = r.string(); break;
      default: unknown(r, t, tag, start);
    }
  }
  return t;
}

function decodeTensorType(r: WireReader): TensorType {
  const t: TensorType = { elemType: 0 };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, VARINT, start); t.elemType = r.int32(); seen |= 1; break;
      case 2: r.expect(tag, LEN, start); t.shape = sub(r, 'TensorShapeProto', decodeShape); break;
      default: unknown(r, t, tag, start);
    }
  }
  markAbsent(t, seen, ['elemType']);
  return t;
}

function decodeShape(r: WireReader): TensorShape {
  const s: TensorShape = { dim: [] };
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      r.expect(tag, LEN, start);
      s.dim.push(sub(r, 'TensorShapeProto.Dimension', decodeDimension));
    } else unknown(r, s, tag, start);
  }
  return s;
}

function decodeDimension(r: WireReader): Dimension {
  const d: Dimension = {};
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, VARINT, start); d.dimValue = r.int64(); break;
      case 2: r.expect(tag, LEN, start); d.dimParam = r.string(); break;
      case 3: r.expect(tag, LEN, start); d.denotation = r.string(); break;
      default: unknown(r, d, tag, start);
    }
  }
  return d;
}

export function decodeOpset(r: WireReader): OperatorSetId {
  const o: OperatorSetId = { domain: '', version: 0 };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, LEN, start); o.domain = r.string(); seen |= 1; break;
      case 2: r.expect(tag, VARINT, start); o.version = r.int64(); seen |= 2; break;
      default: unknown(r, o, tag, start);
    }
  }
  markAbsent(o, seen, ['domain', 'version']);
  return o;
}

export function decodeEntry(r: WireReader): StringStringEntry {
  const e: StringStringEntry = { key: '', value: '' };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, LEN, start); e.key = r.string(); seen |= 1; break;
      case 2: r.expect(tag, LEN, start); e.value = r.string(); seen |= 2; break;
      default: unknown(r, e, tag, start);
    }
  }
  markAbsent(e, seen, ['key', 'value']);
  return e;
}

export function decodeAnnotation(r: WireReader): TensorAnnotation {
  const a: TensorAnnotation = { tensorName: '', quantParameterTensorNames: [] };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, LEN, start); a.tensorName = r.string(); seen |= 1; break;
      case 2: r.expect(tag, LEN, start); a.quantParameterTensorNames.push(sub(r, 'StringStringEntryProto', decodeEntry)); break;
      default: unknown(r, a, tag, start);
    }
  }
  markAbsent(a, seen, ['tensorName']);
  return a;
}
