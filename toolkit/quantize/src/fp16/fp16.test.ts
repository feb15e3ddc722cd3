/**
 * float16 conversion through onnxruntime-node: zoo models and fixtures stay within 1e-2 of float32,
 * keep their I/O types and names, and come out topologically sorted; the faults users report with
 * onnxconverter-common (untouched Casts, NaN from ReduceMean, unsorted graphs) are checked on small
 * models built here.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../onnx/errors.js';
import { float16BitsToFloat32, float32ToFloat16Bits, toFloat16Bits } from '../onnx/float16.js';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { decodeModel, encodeModel } from '../onnx/io.js';
import { makeTensor, tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Model, type Node, type TensorProto, type ValueInfo } from '../onnx/types.js';
import { ortThreadOptions } from '@akb/jscc';
import { convertFp16 } from './index.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));
const load = async (p: string): Promise<Model> => decodeModel(new Uint8Array(await readFile(root(p))));

function uniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

/**
 * Runs a model; float16 outputs come back as float32. The outputs compared with toEqual below are exact
 * on every CPU: small integers and halves, whose products and sums float16 and float32 hold without
 * rounding, so no summation order can change them. Everything else is compared within a tolerance.
 */
async function run(model: Model, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(encodeModel(model), ortThreadOptions());
  const out = await session.run(feeds);
  const result: Record<string, Float32Array> = {};
  for (const name of session.outputNames) {
    const t = out[name]!;
    result[name] = t.type === 'float16' ? Float32Array.from(t.data as Uint16Array, float16BitsToFloat32) : (t.data as Float32Array);
  }
  return result;
}

/** Largest |a - b| relative to the largest |a|. */
function relErr(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return err / Math.max(scale, 1e-30);
}

/** Every node input is a graph input, an initializer, or the output of an earlier node. */
function isTopologicallySorted(model: Model): boolean {
  const known = new Set<string>(['', ...model.graph.input.map((v) => v.name), ...model.graph.initializer.map((t) => t.name)]);
  for (const n of model.graph.node) {
    if (!n.input.every((i) => known.has(i))) return false;
    for (const o of n.output) known.add(o);
  }
  return true;
}

const elemTypes = (vs: ValueInfo[]): (number | undefined)[] => vs.map((v) => v.type?.tensorType?.elemType);

function tiny(nodes: Node[], inputs: ValueInfo[], outputs: ValueInfo[], initializer: TensorProto[] = []): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    metadataProps: [],
    functions: [],
    graph: { name: 'g', node: nodes, initializer, sparseInitializer: [], input: inputs, output: outputs, valueInfo: [], quantizationAnnotation: [] },
  };
}

describe('convertFp16 on zoo models and fixtures', () => {
  const cases: [string, Record<string, ort.Tensor>][] = [
    ['models/zoo/deepjscc-r12-snr1-enc/model.onnx', { image: new ort.Tensor('float32', uniform(4 * 3 * 32 * 32, 1), [4, 3, 32, 32]) }],
    ['models/zoo/deepjscc-r12-snr1-dec/model.onnx', { latent: new ort.Tensor('float32', uniform(4 * 512, 2, -2, 2), [4, 512]) }],
    ['models/zoo/akb-dqn-policy/model.onnx', { state: new ort.Tensor('float32', uniform(64 * 11, 3, -1, 1), [64, 11]) }],
    [
      'models/zoo/akb-jscc-enc/model.onnx',
      {
        image: new ort.Tensor('float32', uniform(2 * 3 * 32 * 32, 4), [2, 3, 32, 32]),
        prior: new ort.Tensor('float32', uniform(2 * 3 * 32 * 32, 5), [2, 3, 32, 32]),
        snr_db: new ort.Tensor('float32', Float32Array.of(5, 12), [2, 1]),
        length: new ort.Tensor('float32', Float32Array.of(256, 512), [2, 1]),
      },
    ],
    ['toolkit/quantize/fixtures/qdq/tiny-cnn-opset21.onnx', { x: new ort.Tensor('float32', uniform(2 * 3 * 64, 6), [2, 3, 8, 8]) }],
  ];
  for (const [path, feeds] of cases) {
    it(`${path.split('/').slice(-2).join('/')}: within 1e-2 of float32, I/O types and names kept, sorted`, async () => {
      const model = await load(path);
      const { model: half, blocked } = convertFp16(model);
      expect(half.graph.input.map((v) => v.name)).toEqual(model.graph.input.map((v) => v.name));
      expect(half.graph.output.map((v) => v.name)).toEqual(model.graph.output.map((v) => v.name));
      expect(elemTypes(half.graph.input)).toEqual(elemTypes(model.graph.input));
      expect(elemTypes(half.graph.output)).toEqual(elemTypes(model.graph.output));
      expect(isTopologicallySorted(half)).toBe(true);
      // Weights are float16, except those only blocked nodes read.
      const floats = half.graph.initializer.filter((t) => t.dataType === DataType.FLOAT16).length;
      expect(floats).toBeGreaterThan(half.graph.initializer.filter((t) => t.dataType === DataType.FLOAT).length);
      expect(encodeModel(half).length).toBeLessThan(encodeModel(model).length * 0.6);
      // No Cast feeds only another Cast between float types (a pair that cancels).
      const byOut = new Map(half.graph.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
      const castTo = (n: Node | undefined): number | undefined => (n?.opType === 'Cast' ? n.attribute.find((a) => a.name === 'to')?.i : undefined);
      const floatTypes: number[] = [DataType.FLOAT, DataType.FLOAT16];
      for (const n of half.graph.node) {
        const prev = byOut.get(n.input[0] ?? '');
        const single = half.graph.node.filter((m) => m.input.includes(n.input[0] ?? '')).length === 1;
        expect(floatTypes.includes(castTo(n) ?? 0) && floatTypes.includes(castTo(prev) ?? 0) && single).toBe(false);
      }
      const ref = await run(model, feeds);
      const got = await run(half, feeds);
      for (const k of Object.keys(ref)) expect(relErr(ref[k]!, got[k]!)).toBeLessThan(1e-2);
      for (const b of blocked) expect(half.graph.node.some((n) => n.name === b)).toBe(true);
    });
  }

  it('without keeping I/O types: float16 inputs and outputs', async () => {
    const model = await load('models/zoo/deepjscc-r12-snr1-dec/model.onnx');
    const half = convertFp16(model, { keepIoTypes: false }).model;
    expect(elemTypes(half.graph.input)).toEqual([DataType.FLOAT16]);
    expect(elemTypes(half.graph.output)).toEqual([DataType.FLOAT16]);
    const latent = uniform(2 * 512, 9, -2, 2);
    const ref = await run(model, { latent: new ort.Tensor('float32', latent, [2, 512]) });
    const got = await run(half, { latent: new ort.Tensor('float16', toFloat16Bits(latent), [2, 512]) });
    expect(relErr(ref.image!, got.image!)).toBeLessThan(1e-2);
  });

  it('keeps blocked op types and nodes in float32 with Casts around them', async () => {
    const model = await load('toolkit/quantize/fixtures/qdq/tiny-cnn-opset13.onnx');
    const { model: half, blocked } = convertFp16(model, { blockOps: ['ConvTranspose'], blockNodes: ['fc'] });
    expect(blocked).toEqual(['deconv', 'fc']);
    const init = (n: string): number | undefined => half.graph.initializer.find((t) => t.name === n)?.dataType;
    expect([init('ct.w'), init('fc.w'), init('c1.w')]).toEqual([DataType.FLOAT, DataType.FLOAT, DataType.FLOAT16]);
    const feeds = { x: new ort.Tensor('float32', uniform(2 * 3 * 64, 7), [2, 3, 8, 8]) };
    const ref = await run(model, feeds);
    const got = await run(half, feeds);
    expect(relErr(ref.y!, got.y!)).toBeLessThan(1e-2);
    expect(half.graph.node.filter((n) => n.opType === 'Cast').length).toBeGreaterThan(0);
  });

  it('does not modify the input model', async () => {
    const model = await load('models/zoo/akb-jscc-enc/model.onnx');
    const before = encodeModel(model);
    convertFp16(model);
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(before))).toBe(true);
  });
});

describe('convertFp16 on the reported faults', () => {
  it('clamps magnitudes to [1e-7, 1e4] and keeps 0, NaN and infinities', () => {
    const values = Float32Array.of(1e-9, -1e-9, 3e5, -3e5, 0, Infinity, -Infinity, NaN, 0.5);
    const model = tiny([makeNode('Mul', ['x', 'c'], ['y'], 'mul')], [makeValueInfo('x', DataType.FLOAT, [9])], [makeValueInfo('y', DataType.FLOAT, [9])], [
      makeTensor('c', DataType.FLOAT, [9], values),
    ]);
    const c = convertFp16(model).model.graph.initializer.find((t) => t.name === 'c')!;
    expect(c.dataType).toBe(DataType.FLOAT16);
    const got = tensorToFloat32(c);
    const tinyHalf = float16BitsToFloat32(float32ToFloat16Bits(1e-7)); // the float16 nearest 1e-7 (a subnormal)
    expect(tinyHalf).toBeGreaterThan(0);
    expect([got[0], got[1]]).toEqual([tinyHalf, -tinyHalf]);
    expect(Array.from(got.slice(2, 7))).toEqual([10000, -10000, 0, Infinity, -Infinity]);
    expect(Number.isNaN(got[7])).toBe(true);
    expect(got[8]).toBe(0.5);
  });

  it('turns Cast(to=FLOAT) into Cast(to=FLOAT16) and folds it with the Cast back to float32 before a blocked op', async () => {
    // ids (int64) -> Cast(to=FLOAT) -> Mul(0.5) -> y1;  Cast output -> ReduceSum (blocked) -> y2
    const model = tiny(
      [
        makeNode('Cast', ['ids'], ['f'], 'cast', { to: DataType.FLOAT }),
        makeNode('Mul', ['f', 'half'], ['y1'], 'mul'),
        makeNode('Cast', ['ids'], ['g'], 'cast2', { to: DataType.FLOAT }),
        makeNode('ReduceSum', ['g'], ['y2'], 'sum', { keepdims: 0 }),
      ],
      [makeValueInfo('ids', DataType.INT64, [4])],
      [makeValueInfo('y1', DataType.FLOAT, [4]), makeValueInfo('y2', DataType.FLOAT, [])],
      [makeTensor('half', DataType.FLOAT, [], Float32Array.of(0.5))],
    );
    const half = convertFp16(model).model;
    const casts = half.graph.node.filter((n) => n.opType === 'Cast');
    const cast = half.graph.node.find((n) => n.name === 'cast')!;
    expect(cast.attribute.find((a) => a.name === 'to')?.i).toBe(DataType.FLOAT16);
    // cast2 -> (Cast to fp32) before ReduceSum became one Cast(ids -> FLOAT); mul's output gets one Cast to float32.
    const sumInput = half.graph.node.find((n) => n.name === 'sum')!.input[0]!;
    const sumCast = half.graph.node.find((n) => n.output.includes(sumInput))!;
    expect(sumCast.opType).toBe('Cast');
    expect(sumCast.input).toEqual(['ids']);
    expect(sumCast.attribute.find((a) => a.name === 'to')?.i).toBe(DataType.FLOAT);
    expect(casts.length).toBe(3);
    const ids = new ort.Tensor('int64', BigInt64Array.of(1n, 2n, 3n, 40000n), [4]);
    const got = await run(half, { ids });
    expect(Array.from(got.y1!)).toEqual([0.5, 1, 1.5, 20000]);
    expect(Array.from(got.y2!)).toEqual([40006]); // summed in float32: float16 would give inf or 40000
  });

  it('keeps ReduceMean in float32 so a large sum does not overflow float16 (NaN/inf)', async () => {
    // y = ReduceMean(x * 1) over 4096 values near 100: the sum (409600) is far past float16's 65504.
    const model = tiny(
      [makeNode('Mul', ['x', 'one'], ['m'], 'mul'), makeNode('ReduceMean', ['m'], ['y'], 'mean', { keepdims: 0 })],
      [makeValueInfo('x', DataType.FLOAT, [4096])],
      [makeValueInfo('y', DataType.FLOAT, [])],
      [makeTensor('one', DataType.FLOAT, [], Float32Array.of(1))],
    );
    const { model: half, blocked } = convertFp16(model);
    expect(blocked).toEqual(['mean']);
    const x = uniform(4096, 12, 99, 101);
    const got = await run(half, { x: new ort.Tensor('float32', x, [4096]) });
    expect(Number.isFinite(got.y![0])).toBe(true);
    expect(got.y![0]).toBeCloseTo(100, 1);
  });

  it('sorts an unsorted graph topologically', async () => {
    const model = tiny(
      [makeNode('Relu', ['a'], ['y'], 'second'), makeNode('Mul', ['x', 'two'], ['a'], 'first')],
      [makeValueInfo('x', DataType.FLOAT, [3])],
      [makeValueInfo('y', DataType.FLOAT, [3])],
      [makeTensor('two', DataType.FLOAT, [], Float32Array.of(2))],
    );
    const half = convertFp16(model).model;
    expect(isTopologicallySorted(half)).toBe(true);
    const got = await run(half, { x: new ort.Tensor('float32', Float32Array.of(-1, 0.25, 3), [3]) });
    expect(Array.from(got.y!)).toEqual([0, 0.5, 6]);
  });

  it('refuses a graph with a cycle with a one-line UnsupportedModelError', () => {
    // a = Relu(b), b = Relu(a): no order exists.
    const model = tiny(
      [makeNode('Relu', ['b'], ['a'], 'r1'), makeNode('Relu', ['a'], ['b'], 'r2')],
      [makeValueInfo('x', DataType.FLOAT, [3])],
      [makeValueInfo('a', DataType.FLOAT, [3])],
    );
    expect(() => convertFp16(model)).toThrow(UnsupportedModelError);
    expect(() => convertFp16(model)).toThrow(/^graph 'g' has a cycle through node 'r1'/);
  });
});
