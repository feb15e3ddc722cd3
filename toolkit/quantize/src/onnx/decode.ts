/**
 * ONNX protobuf bytes -> the plain objects of types.ts. Field numbers are onnx.proto's (onnx 1.23).
 *
 * Every field the codec does not model (training_info, device configurations, TypeProto's sequence, map,
 * optional, sparse and opaque types, anything a newer onnx.proto adds) is kept as its raw wire bytes in
 * `unknownFields`, so encode.ts writes it back unchanged. Non-optional scalar fields absent on the wire
 * are listed in `absent` (see HasUnknown). Repeated scalars decode packed or unpacked. `rawData` and
 * other bytes fields are views of the input buffer: no copy, and they keep that buffer alive.
 */
import { decodeAnnotation, decodeEntry, decodeOpset, decodeSegment, decodeType, markAbsent, sub, unknown } from './decode-leaf.js';
import { OnnxFormatError } from './errors.js';
import type { Attribute, Graph, Model, Node, SparseTensorProto, TensorProto, ValueInfo } from './types.js';
import { WireReader, WireType } from './wire.js';

const { VARINT, I64, LEN, I32 } = WireType;
/** GraphProto's known fields: all length-delimited. */
const GRAPH_FIELDS = new Set([1, 2, 5, 10, 11, 12, 13, 14, 15, 16]);

/** Decodes a ModelProto. Throws OnnxFormatError (one line, with the byte offset) on malformed bytes. */
export function decodeModelProto(bytes: Uint8Array): Model {
  const r = new WireReader(bytes);
  const m: Model = { irVersion: 0, opsetImport: [], graph: emptyGraph(), metadataProps: [], functions: [] };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, VARINT, start); m.irVersion = r.int64(); seen |= 1; break;
      case 2: r.expect(tag, LEN, start); m.producerName = r.string(); break;
      case 3: r.expect(tag, LEN, start); m.producerVersion = r.string(); break;
      case 4: r.expect(tag, LEN, start); m.domain = r.string(); break;
      case 5: r.expect(tag, VARINT, start); m.modelVersion = r.int64(); break;
      case 6: r.expect(tag, LEN, start); m.docString = r.string(); break;
      case 7: r.expect(tag, LEN, start); m.graph = sub(r, 'GraphProto', decodeGraph); seen |= 2; break;
      case 8: r.expect(tag, LEN, start); m.opsetImport.push(sub(r, 'OperatorSetIdProto', decodeOpset)); break;
      case 14: r.expect(tag, LEN, start); m.metadataProps.push(sub(r, 'StringStringEntryProto', decodeEntry)); break;
      case 25: r.expect(tag, LEN, start); m.functions.push({ raw: r.bytes() }); break;
      default: unknown(r, m, tag, start);
    }
  }
  if (seen === 0) {
    throw new OnnxFormatError(`not an ONNX model: no ir_version and no graph in ${bytes.length} bytes`, { offset: 0 });
  }
  markAbsent(m, seen, ['irVersion', 'graph']);
  return m;
}

/** A graph with no nodes, for a ModelProto that has none on the wire. */
export function emptyGraph(): Graph {
  return { name: '', node: [], initializer: [], sparseInitializer: [], input: [], output: [], valueInfo: [], quantizationAnnotation: [] };
}

function decodeGraph(r: WireReader): Graph {
  const g = emptyGraph();
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    const field = tag >>> 3;
    if (GRAPH_FIELDS.has(field)) r.expect(tag, LEN, start);
    switch (field) {
      case 1: g.node.push(sub(r, 'NodeProto', decodeNode)); break;
      case 2: g.name = r.string(); seen |= 1; break;
      case 5: g.initializer.push(sub(r, 'TensorProto', decodeTensor)); break;
      case 10: g.docString = r.string(); break;
      case 11: g.input.push(sub(r, 'ValueInfoProto', decodeValueInfo)); break;
      case 12: g.output.push(sub(r, 'ValueInfoProto', decodeValueInfo)); break;
      case 13: g.valueInfo.push(sub(r, 'ValueInfoProto', decodeValueInfo)); break;
      case 14: g.quantizationAnnotation.push(sub(r, 'TensorAnnotation', decodeAnnotation)); break;
      case 15: g.sparseInitializer.push(sub(r, 'SparseTensorProto', decodeSparse)); break;
      case 16: (g.metadataProps ??= []).push(sub(r, 'StringStringEntryProto', decodeEntry)); break;
      default: unknown(r, g, tag, start);
    }
  }
  markAbsent(g, seen, ['name']);
  return g;
}

function decodeNode(r: WireReader): Node {
  const n: Node = { input: [], output: [], name: '', opType: '', domain: '', attribute: [] };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    const field = tag >>> 3;
    if (field >= 1 && field <= 9) r.expect(tag, LEN, start);
    switch (field) {
      case 1: n.input.push(r.string()); break;
      case 2: n.output.push(r.string()); break;
      case 3: n.name = r.string(); seen |= 1; break;
      case 4: n.opType = r.string(); seen |= 2; break;
      case 5: n.attribute.push(sub(r, 'AttributeProto', decodeAttribute)); break;
      case 6: n.docString = r.string(); break;
      case 7: n.domain = r.string(); seen |= 4; break;
      case 8: n.overload = r.string(); break;
      case 9: (n.metadataProps ??= []).push(sub(r, 'StringStringEntryProto', decodeEntry)); break;
      default: unknown(r, n, tag, start);
    }
  }
  markAbsent(n, seen, ['name', 'opType', 'domain']);
  return n;
}

function decodeAttribute(r: WireReader): Attribute {
  const a: Attribute = { name: '', type: 0 };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, LEN, start); a.name = r.string(); seen |= 1; break;
      case 2: r.expect(tag, I32, start); a.f = r.float32(); break;
      case 3: r.expect(tag, VARINT, start); a.i = r.int64(); break;
      case 4: r.expect(tag, LEN, start); a.s = r.bytes(); break;
      case 5: r.expect(tag, LEN, start); a.t = sub(r, 'TensorProto', decodeTensor); break;
      case 6: r.expect(tag, LEN, start); a.g = sub(r, 'GraphProto', decodeGraph); break;
      case 7: {
        const out = (a.floats ??= []);
        if ((tag & 7) === LEN) r.packedFloat32(out);
        else {
          r.expect(tag, I32, start);
          out.push(r.float32());
        }
        break;
      }
      case 8: {
        const out = (a.ints ??= []);
        if ((tag & 7) === LEN) r.packedVarints(() => out.push(r.int64()));
        else {
          r.expect(tag, VARINT, start);
          out.push(r.int64());
        }
        break;
      }
      case 9: r.expect(tag, LEN, start); (a.strings ??= []).push(r.bytes()); break;
      case 10: r.expect(tag, LEN, start); (a.tensors ??= []).push(sub(r, 'TensorProto', decodeTensor)); break;
      case 11: r.expect(tag, LEN, start); (a.graphs ??= []).push(sub(r, 'GraphProto', decodeGraph)); break;
      case 13: r.expect(tag, LEN, start); a.docString = r.string(); break;
      case 14: r.expect(tag, LEN, start); a.tp = sub(r, 'TypeProto', decodeType); break;
      case 15: r.expect(tag, LEN, start); (a.typeProtos ??= []).push(sub(r, 'TypeProto', decodeType)); break;
      case 20: r.expect(tag, VARINT, start); a.type = r.int32(); seen |= 2; break;
      case 21: r.expect(tag, LEN, start); a.refAttrName = r.string(); break;
      case 22: r.expect(tag, LEN, start); a.sparseTensor = sub(r, 'SparseTensorProto', decodeSparse); break;
      case 23: r.expect(tag, LEN, start); (a.sparseTensors ??= []).push(sub(r, 'SparseTensorProto', decodeSparse)); break;
      default: unknown(r, a, tag, start);
    }
  }
  markAbsent(a, seen, ['name', 'type']);
  return a;
}

/** Decodes a TensorProto. Also used on its own for tensor files. */
export function decodeTensor(r: WireReader): TensorProto {
  const t: TensorProto = { name: '', dims: [], dataType: 0 };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wire === LEN) r.packedVarints(() => t.dims.push(r.int64()));
        else {
          r.expect(tag, VARINT, start);
          t.dims.push(r.int64());
        }
        break;
      case 2: r.expect(tag, VARINT, start); t.dataType = r.int32(); seen |= 2; break;
      case 3: r.expect(tag, LEN, start); t.segment = sub(r, 'TensorProto.Segment', decodeSegment); break;
      case 4: {
        const out = (t.floatData ??= []);
        if (wire === LEN) r.packedFloat32(out);
        else {
          r.expect(tag, I32, start);
          out.push(r.float32());
        }
        break;
      }
      case 5: {
        const out = (t.int32Data ??= []);
        if (wire === LEN) r.packedVarints(() => out.push(r.int32()));
        else {
          r.expect(tag, VARINT, start);
          out.push(r.int32());
        }
        break;
      }
      case 6: r.expect(tag, LEN, start); (t.stringData ??= []).push(r.bytes()); break;
      case 7: {
        const out = (t.int64Data ??= []);
        if (wire === LEN) r.packedVarints(() => out.push(r.int64Big()));
        else {
          r.expect(tag, VARINT, start);
          out.push(r.int64Big());
        }
        break;
      }
      case 8: r.expect(tag, LEN, start); t.name = r.string(); seen |= 1; break;
      case 9: r.expect(tag, LEN, start); t.rawData = r.bytes(); break;
      case 10: {
        const out = (t.doubleData ??= []);
        if (wire === LEN) r.packedFloat64(out);
        else {
          r.expect(tag, I64, start);
          out.push(r.float64());
        }
        break;
      }
      case 11: {
        const out = (t.uint64Data ??= []);
        if (wire === LEN) r.packedVarints(() => out.push(r.uint64Big()));
        else {
          r.expect(tag, VARINT, start);
          out.push(r.uint64Big());
        }
        break;
      }
      case 12: r.expect(tag, LEN, start); t.docString = r.string(); break;
      case 13: r.expect(tag, LEN, start); (t.externalData ??= []).push(sub(r, 'StringStringEntryProto', decodeEntry)); break;
      case 14: r.expect(tag, VARINT, start); t.dataLocation = r.int32(); break;
      case 16: r.expect(tag, LEN, start); (t.metadataProps ??= []).push(sub(r, 'StringStringEntryProto', decodeEntry)); break;
      default: unknown(r, t, tag, start);
    }
  }
  markAbsent(t, seen, ['name', 'dataType']);
  return t;
}

function decodeSparse(r: WireReader): SparseTensorProto {
  const s: SparseTensorProto = { dims: [] };
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, LEN, start); s.values = sub(r, 'TensorProto', decodeTensor); break;
      case 2: r.expect(tag, LEN, start); s.indices = sub(r, 'TensorProto', decodeTensor); break;
      case 3:
        if ((tag & 7) === LEN) r.packedVarints(() => s.dims.push(r.int64()));
        else {
          r.expect(tag, VARINT, start);
          s.dims.push(r.int64());
        }
        break;
      default: unknown(r, s, tag, start);
    }
  }
  return s;
}

function decodeValueInfo(r: WireReader): ValueInfo {
  const v: ValueInfo = { name: '' };
  let seen = 0;
  while (r.pos < r.limit) {
    const start = r.pos;
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: r.expect(tag, LEN, start); v.name = r.string(); seen |= 1; break;
      case 2: r.expect(tag, LEN, start); v.type = sub(r, 'TypeProto', decodeType); break;
      case 3: r.expect(tag, LEN, start); v.docString = r.string(); break;
      case 4: r.expect(tag, LEN, start); (v.metadataProps ??= []).push(sub(r, 'StringStringEntryProto', decodeEntry)); break;
      default: unknown(r, v, tag, start);
    }
  }
  markAbsent(v, seen, ['name']);
  return v;
}

