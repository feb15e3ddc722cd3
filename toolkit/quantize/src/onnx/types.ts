/**
 * The ONNX model as plain objects: onnx.proto's messages with camelCase fields.
 *
 * The codec (decode.ts / encode.ts) maps protobuf bytes to these objects and back. Fields
 * the codec does not know are kept as raw wire bytes in `unknownFields` and written back
 * unchanged, so a model survives a round trip even when a newer onnx.proto added fields.
 * int64 values are JavaScript numbers (exact to 2^53, enough for dims, offsets and attribute
 * ints); tensor int64 payloads keep their exact values in `int64Data` as bigint.
 */

/** TensorProto.DataType. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
} as const;
export type DataTypeCode = number;

/** AttributeProto.AttributeType. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  SPARSE_TENSOR: 11,
  TYPE_PROTO: 13,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSORS: 12,
  TYPE_PROTOS: 14,
} as const;

/** Raw bytes of fields the codec does not model, in wire format (tag + value), kept in order. */
export interface HasUnknown {
  unknownFields?: Uint8Array[];
  /**
   * Codec bookkeeping for byte-identical round trips: names of this message's non-optional scalar fields
   * (e.g. a node's `domain`, a graph's `name`) that were absent on the wire, so they hold their default
   * ('' or 0). The encoder leaves such a field out while it still holds the default; give it another
   * value and it is written. Objects made in code need not set it (every field is then written).
   */
  absent?: string[];
}

export interface StringStringEntry extends HasUnknown {
  key: string;
  value: string;
}

export interface OperatorSetId extends HasUnknown {
  /** '' or 'ai.onnx' is the default domain. */
  domain: string;
  version: number;
}

export interface TensorProto extends HasUnknown {
  name: string;
  dims: number[];
  dataType: DataTypeCode;
  /** A chunk of a large tensor split over several TensorProtos (rare). */
  segment?: { begin?: number; end?: number } & HasUnknown;
  /** Little-endian packed payload; the usual place for initializers. */
  rawData?: Uint8Array;
  floatData?: number[];
  /** INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16/BFLOAT16 (bit patterns), INT4/UINT4. */
  int32Data?: number[];
  int64Data?: bigint[];
  doubleData?: number[];
  /** UINT32, UINT64. */
  uint64Data?: bigint[];
  stringData?: Uint8Array[];
  docString?: string;
  /** 0 DEFAULT, 1 EXTERNAL. */
  dataLocation?: number;
  /** External data entries: location, offset, length, checksum. */
  externalData?: StringStringEntry[];
  metadataProps?: StringStringEntry[];
}

export interface SparseTensorProto extends HasUnknown {
  values?: TensorProto;
  indices?: TensorProto;
  dims: number[];
}

export interface Dimension extends HasUnknown {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface TensorShape extends HasUnknown {
  dim: Dimension[];
}

export interface TypeProto extends HasUnknown {
  tensorType?: { elemType: DataTypeCode; shape?: TensorShape } & HasUnknown;
  /** sequence, map, optional, sparse tensor types: kept as raw bytes of the oneof field. */
  denotation?: string;
}

export interface ValueInfo extends HasUnknown {
  name: string;
  type?: TypeProto;
  docString?: string;
  metadataProps?: StringStringEntry[];
}

export interface Attribute extends HasUnknown {
  name: string;
  type: number;
  refAttrName?: string;
  docString?: string;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: Graph;
  sparseTensor?: SparseTensorProto;
  tp?: TypeProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: Graph[];
  sparseTensors?: SparseTensorProto[];
  typeProtos?: TypeProto[];
}

export interface Node extends HasUnknown {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  /** '' is the default ONNX domain. */
  domain: string;
  overload?: string;
  attribute: Attribute[];
  docString?: string;
  metadataProps?: StringStringEntry[];
}

export interface Graph extends HasUnknown {
  name: string;
  node: Node[];
  initializer: TensorProto[];
  sparseInitializer: SparseTensorProto[];
  docString?: string;
  input: ValueInfo[];
  output: ValueInfo[];
  valueInfo: ValueInfo[];
  quantizationAnnotation: (HasUnknown & { tensorName: string; quantParameterTensorNames: StringStringEntry[] })[];
  metadataProps?: StringStringEntry[];
}

/** FunctionProto is carried through untouched: the quantizer never rewrites local functions. */
export interface FunctionProtoBytes {
  raw: Uint8Array;
}

export interface Model extends HasUnknown {
  irVersion: number;
  opsetImport: OperatorSetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: Graph;
  metadataProps: StringStringEntry[];
  functions: FunctionProtoBytes[];
}
