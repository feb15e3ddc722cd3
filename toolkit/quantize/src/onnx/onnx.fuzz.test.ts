/**
 * Fuzzing the ONNX reader with hostile protobuf: random bytes, random well-formed protobuf trees whose field
 * numbers and wire types land on ModelProto's, GraphProto's, NodeProto's and TensorProto's fields, byte
 * edits of real models (the fixtures, the DQN policy), and lengths and counts claimed up to 2^63. Properties: decodeModel returns a
 * model or throws an OnnxFormatError of one line, never another error; what decodes encodes to bytes that
 * decode to the same model; validateModel on it throws only typed errors; a claimed size is never
 * allocated before it is checked. 11,000 cases per CI run (test/fuzz/runs.ts scales them); codec.test.ts
 * keeps its 2,700 truncations and flips.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAkbError } from '@akb/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayBufferGrowth, fuzzRuns } from '../../../../test/fuzz/runs.js';
import { OnnxFormatError } from './errors.js';
import { decodeModel, encodeModel } from './io.js';
import type { Model } from './types.js';
import { validateModel } from './validate.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const root = fileURLToPath(new URL('../../../../', import.meta.url));
// Small real models whose every part an edit can reach: the fixtures (subgraphs, every attribute and tensor
// kind) and the zoo's smallest (the DQN policy, 80 KB).
const MODELS = [
  ...['conv-opset13.onnx', 'mixed-opset17.onnx', 'if-loop-opset21.onnx', 'kitchen-sink.onnx'].map((f) => new Uint8Array(readFileSync(`${fixtures}${f}`))),
  ...['akb-dqn-policy'].filter((d) => existsSync(`${root}models/zoo/${d}/model.onnx`)).map((d) => new Uint8Array(readFileSync(`${root}models/zoo/${d}/model.onnx`))),
];

/** Decodes `bytes`; returns the model or undefined after checking the error is an OnnxFormatError of one line. */
function decodeOrRefuse(bytes: Uint8Array): Model | undefined {
  try {
    return decodeModel(bytes);
  } catch (e) {
    if (!(e instanceof OnnxFormatError)) throw e;
    expect(e.message).not.toContain('\n');
    expect(e.message.length).toBeLessThan(1000);
    return undefined;
  }
}

/**
 * The checks on what decoded: its encoding decodes to a model that encodes to the same bytes (unknown fields
 * may move: the writer keeps Python's field order), validation throws only typed errors.
 */
function checkDecoded(m: Model): void {
  const again = encodeModel(m).slice();
  expect(Buffer.compare(encodeModel(decodeModel(again)), again)).toBe(0);
  try {
    validateModel(m);
  } catch (e) {
    expect(isAkbError(e), String(e)).toBe(true);
  }
}

// A tiny protobuf writer for the test's trees, independent of wire.ts.
function varint(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x > 0n ? b | 0x80 : b);
  } while (x > 0n);
  return out;
}

interface VarintField {
  no: number;
  wire: 0;
  v: bigint;
}
interface FixedField {
  no: number;
  wire: 1 | 5;
  bytes: number[];
}
/** A length-delimited field: raw bytes or a nested message; `lie` is a length to write instead of the true one. */
interface LenField {
  no: number;
  wire: 2;
  body: Field[] | number[];
  lie?: bigint;
}
type Field = VarintField | FixedField | LenField;

function isMessage(body: Field[] | number[]): body is Field[] {
  return body.length > 0 && typeof body[0] === 'object';
}

function encodeFields(fields: Field[]): number[] {
  const out: number[] = [];
  for (const f of fields) {
    out.push(...varint(BigInt(f.no * 8 + f.wire)));
    if (f.wire === 0) out.push(...varint(f.v));
    else if (f.wire === 2) {
      const body = isMessage(f.body) ? encodeFields(f.body) : f.body;
      out.push(...varint(f.lie ?? BigInt(body.length)), ...body);
    } else out.push(...f.bytes);
  }
  return out;
}

// Field numbers 1-25 cover every field of the messages the reader knows; 0 and large numbers are invalid or unknown.
const fieldNo = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 25 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 26, 1000, 2 ** 29 - 1) });
const varintValue = fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 63n, -1n));
const leaf: fc.Arbitrary<Field> = fc.oneof(
  fc.record({ no: fieldNo, wire: fc.constant(0 as const), v: varintValue }),
  fc.record({ no: fieldNo, wire: fc.constantFrom(1 as const, 5 as const), bytes: fc.nat({ max: 255 }).chain((b) => fc.constant(Array.from({ length: 8 }, () => b))) }).map((f) => ({ ...f, bytes: f.bytes.slice(0, f.wire === 1 ? 8 : 4) })),
  fc.record({ no: fieldNo, wire: fc.constant(2 as const), body: fc.array(fc.nat({ max: 255 }), { maxLength: 24 }) }),
  fc.record({ no: fieldNo, wire: fc.constant(2 as const), body: fc.string({ maxLength: 12 }).map((s) => [...Buffer.from(s)]) }),
);
const tree = fc.letrec<{ fields: Field[] }>((tie) => ({
  fields: fc.array(
    fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ no: fieldNo, wire: fc.constant(2 as const), body: tie('fields') }),
      fc.record({ no: fieldNo, wire: fc.constant(2 as const), body: tie('fields'), lie: varintValue }),
    ),
    { maxLength: 6 },
  ),
})).fields;

describe('ONNX reader under fuzzing', () => {
  it('random bytes decode or throw OnnxFormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        const m = decodeOrRefuse(b);
        if (m) checkDecoded(m);
      }),
      fuzzRuns(3_000),
    );
  });

  it('random protobuf trees on ONNX field numbers decode or throw OnnxFormatError; what decodes round-trips', () => {
    let decoded = 0;
    fc.assert(
      fc.property(tree, (fields) => {
        const m = decodeOrRefuse(Uint8Array.from(encodeFields(fields)));
        if (m) {
          decoded++;
          checkDecoded(m);
        }
      }),
      fuzzRuns(4_000),
    );
    expect(decoded).toBeGreaterThan(0);
  });

  it('real models with bytes overwritten, inserted or cut decode or throw OnnxFormatError', () => {
    const edit = fc.record({ at: fc.nat(), op: fc.constantFrom('set', 'insert', 'cut'), value: fc.nat({ max: 255 }), length: fc.integer({ min: 1, max: 16 }) });
    fc.assert(
      fc.property(fc.nat({ max: MODELS.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 4 }), (which, edits) => {
        let b = MODELS[which]!.slice();
        for (const e of edits) {
          const i = e.at % b.length;
          if (e.op === 'set') b[i] = e.value;
          else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, i), new Uint8Array(e.length).fill(e.value), b.subarray(i)]);
          else b = Buffer.concat([b.subarray(0, i), b.subarray(i + e.length)]);
        }
        const m = decodeOrRefuse(b);
        if (m) checkDecoded(m);
      }),
      fuzzRuns(3_000),
    );
  });

  it('lengths and counts claimed up to 2^64 are refused without allocating them', () => {
    // A LEN field (graph, node, tensor raw_data, dims) whose varint length is far past the end, at any depth.
    const claim = fc.record({ path: fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 4 }), length: fc.bigInt({ min: 1n << 20n, max: 2n ** 64n - 1n }), tail: fc.uint8Array({ maxLength: 32 }) });
    fc.assert(
      fc.property(claim, ({ path, length, tail }) => {
        let inner: Field[] = [{ no: path[path.length - 1]!, wire: 2, body: [...tail], lie: length }];
        for (const no of path.slice(0, -1).reverse()) inner = [{ no, wire: 2, body: inner }];
        const bytes = Uint8Array.from(encodeFields(inner));
        const growth = arrayBufferGrowth(() => {
          // Inside a field the reader does not know, the lie is kept as raw bytes unread: only there may it decode.
          const m = decodeOrRefuse(bytes);
          if (path.length === 1) expect(m).toBeUndefined();
        });
        expect(growth).toBeLessThan(1 << 20);
      }),
      fuzzRuns(1_000),
    );
  });
});
