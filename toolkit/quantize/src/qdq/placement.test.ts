/**
 * The weighted-inputs placement on a FiLM-style chain built in memory, run through onnxruntime-node:
 *
 *   x -> Conv c1 -> PRelu -> Mul(gamma, a graph input) -> Add(constant beta) = a -> Conv c2 -> Relu -> MaxPool -> Conv c3 -> y
 *                                                                               `-> graph output "feat"
 *
 * onnxruntime's placement rounds every one of those tensors to 8 bits; weighted-inputs rounds only what
 * the three convolutions read (x, a, the MaxPool output), keeps the biases int32, leaves the constant
 * beta and the graph output "feat" float, and un-fuses the Relu (its output no longer feeds a weighted op).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ortThreadOptions } from '@akb/jscc';
import { calibrate, type CalibrationSample } from '../calibrate/index.js';
import { sqnrDb } from '../numerics/sqnr.js';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { encodeModel } from '../onnx/io.js';
import { DataType, type Model } from '../onnx/types.js';
import { floatInit, uniformTensor, uniformValues } from '../ptq/test-models.js';
import { quantizeQdq, tensorsToCalibrate, type QdqOptions } from './index.js';
import { FUSED_REASON } from './placement.js';

const C = 8;

function filmChain(): Model {
  const w = (name: string, cout: number, cin: number, seed: number) => floatInit(name, [cout, cin, 3, 3], uniformValues(cout * cin * 9, seed, -0.4, 0.4));
  const b = (name: string, n: number, seed: number) => floatInit(name, [n], uniformValues(n, seed, -0.2, 0.2));
  const pads = { pads: [1, 1, 1, 1] };
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'film',
      node: [
        makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], 'conv1', pads),
        makeNode('PRelu', ['c1', 'slope'], ['p'], 'prelu'),
        makeNode('Mul', ['p', 'gamma'], ['m'], 'film_mul'),
        makeNode('Add', ['m', 'beta'], ['feat'], 'film_add'),
        makeNode('Conv', ['feat', 'w2', 'b2'], ['c2'], 'conv2', pads),
        makeNode('Relu', ['c2'], ['r'], 'relu'),
        makeNode('MaxPool', ['r'], ['mp'], 'pool', { kernel_shape: [2, 2], strides: [2, 2] }),
        makeNode('Conv', ['mp', 'w3', 'b3'], ['y'], 'conv3', pads),
      ],
      initializer: [
        w('w1', C, 3, 1), b('b1', C, 2), floatInit('slope', [C, 1, 1], uniformValues(C, 3, 0.05, 0.3)),
        floatInit('beta', [1, C, 1, 1], uniformValues(C, 4, -1, 1)),
        w('w2', C, C, 5), b('b2', C, 6), w('w3', 4, C, 7), b('b3', 4, 8),
      ],
      sparseInitializer: [],
      input: [makeValueInfo('x', DataType.FLOAT, ['N', 3, 8, 8]), makeValueInfo('gamma', DataType.FLOAT, ['N', C, 1, 1])],
      output: [makeValueInfo('y', DataType.FLOAT), makeValueInfo('feat', DataType.FLOAT)],
      valueInfo: [],
      quantizationAnnotation: [],
    },
    metadataProps: [],
    functions: [],
  };
}

function feeds(n: number, seed: number): CalibrationSample {
  return { x: uniformTensor([n, 3, 8, 8], seed, -1, 1), gamma: uniformTensor([n, C, 1, 1], seed + 1000, 0.2, 3) };
}

async function run(model: Model, f: CalibrationSample): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: 'disabled', ...ortThreadOptions() });
  try {
    const out = await s.run(f);
    return Object.fromEntries(s.outputNames.map((k) => [k, out[k]!.data as Float32Array]));
  } finally {
    await s.release();
  }
}

const U8S8: QdqOptions = { activationType: 'uint8', weightType: 'int8', perChannel: true };
const WEIGHTED: QdqOptions = { ...U8S8, placement: 'weighted-inputs' };
const samples = Array.from({ length: 16 }, (_, i) => feeds(1, i + 1));
const test = feeds(32, 500);

async function quantized(opts: QdqOptions) {
  const model = filmChain();
  const tensors = tensorsToCalibrate(model, opts);
  const result = quantizeQdq(model, await calibrate(model, samples, tensors, { method: 'minmax' }), opts);
  const [ref, got] = await Promise.all([run(model, test), run(result.model, test)]);
  return { tensors, result, m: result.model, sqnr: sqnrDb(ref.y!, got.y!), feat: [ref.feat!, got.feat!] as const };
}

const producer = (m: Model, t: string) => m.graph.node.find((n) => n.output.includes(t));
const activationQs = (m: Model) =>
  m.graph.node.filter((n) => n.opType === 'QuantizeLinear' && !m.graph.initializer.some((i) => i.name === n.input[0])).map((n) => n.input[0]);

describe('weighted-inputs placement', () => {
  it('calibrates and rounds only what the convolutions read', async () => {
    const ortPlaced = await quantized(U8S8);
    expect(ortPlaced.tensors).toEqual(expect.arrayContaining(['x', 'c1', 'p', 'm', 'gamma', 'feat', 'r']));
    const { tensors, m, result } = await quantized(WEIGHTED);
    expect(tensors.sort()).toEqual(['feat', 'mp', 'x']);
    expect(activationQs(m).sort()).toEqual(['feat', 'mp', 'x']);
    // The convolutions read int8 inputs and int8 weights with int32 biases.
    for (const name of ['conv1', 'conv2', 'conv3']) {
      const conv = m.graph.node.find((n) => n.name === name)!;
      expect(producer(m, conv.input[0]!)?.opType).toBe('DequantizeLinear');
      const wq = m.graph.initializer.find((t) => t.name === producer(m, conv.input[1]!)?.input[0]);
      expect(wq?.dataType).toBe(DataType.INT8);
      const bq = m.graph.initializer.find((t) => t.name === producer(m, conv.input[2]!)?.input[0]);
      expect(bq?.dataType).toBe(DataType.INT32);
    }
    // The epilogue runs in float on float operands: PRelu, Mul, Add, Relu (un-fused) and MaxPool; Add and
    // MaxPool end their chains (their outputs are rounded for the next convolution), Mul and Relu do not.
    for (const name of ['prelu', 'film_mul', 'film_add', 'relu', 'pool']) {
      const node = m.graph.node.find((n) => n.name === name)!;
      for (const i of node.input) expect(producer(m, i)?.opType).not.toBe('DequantizeLinear');
    }
    expect(result.skipped.filter((s) => s.reason === FUSED_REASON).map((s) => s.node).sort()).toEqual(['film_mul', 'relu']);
    expect(result.skipped).toContainEqual({ node: 'prelu', opType: 'PRelu', reason: 'no int8 rule for PRelu; it runs in float' });
    expect(result.quantizedNodes.sort()).toEqual(['conv1', 'conv2', 'conv3', 'film_add', 'pool']);
    expect(producer(m, 'beta')).toBeUndefined(); // the constant stays a float initializer
    expect(m.graph.initializer.find((t) => t.name === 'beta')?.dataType).toBe(DataType.FLOAT);
  });

  it('leaves a graph output that also feeds a convolution float, and quantizes it for the convolution only', async () => {
    const { m, feat } = await quantized(WEIGHTED);
    expect(producer(m, 'feat')?.name).toBe('film_add');
    const conv2 = m.graph.node.find((n) => n.name === 'conv2')!;
    expect(conv2.input[0]).not.toBe('feat');
    // conv1 reads quantized x, so feat is close to float but not equal; it is not on the 8-bit grid.
    expect(sqnrDb(feat[0], feat[1])).toBeGreaterThan(25);
    const { feat: ortFeat } = await quantized(U8S8);
    expect(producer((await quantized(U8S8)).m, 'feat')?.opType).toBe('DequantizeLinear');
    expect(sqnrDb(feat[0], feat[1])).toBeGreaterThan(sqnrDb(ortFeat[0], ortFeat[1]));
  });

  it('loses less than onnxruntime placement on the chain (three roundings instead of eight)', async () => {
    const a = await quantized(U8S8);
    const b = await quantized(WEIGHTED);
    expect(b.sqnr).toBeGreaterThan(a.sqnr + 1);
  });

  it('TensorRT mode: symmetric int8 pairs, still only on the convolutions inputs', async () => {
    const { m, sqnr } = await quantized({ ...WEIGHTED, tensorRt: true });
    expect(activationQs(m).sort()).toEqual(['feat', 'mp', 'x']);
    expect(sqnr).toBeGreaterThan(20);
  });

  it('keeps a Relu whose output also feeds a residual Add (its fusion into the Q/DQ clamp would skip it for the Add)', async () => {
    // x -> Conv c1 -> Relu = r -> Conv c2 -> Add(c2, r) -> y: ResNet's shape. The residual reads r in float.
    const model = filmChain();
    model.graph.node = [
      makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], 'conv1', { pads: [1, 1, 1, 1] }),
      makeNode('Relu', ['c1'], ['r'], 'relu'),
      makeNode('Conv', ['r', 'w2', 'b2'], ['c2'], 'conv2', { pads: [1, 1, 1, 1] }),
      makeNode('Add', ['c2', 'r'], ['y'], 'residual'),
    ];
    model.graph.input = model.graph.input.slice(0, 1);
    model.graph.output = model.graph.output.slice(0, 1);
    const one = { x: test.x! };
    const ranges = await calibrate(model, samples.map((s) => ({ x: s.x! })), tensorsToCalibrate(model, WEIGHTED), { method: 'minmax' });
    const { model: m } = quantizeQdq(model, ranges, WEIGHTED);
    const relu = m.graph.node.find((n) => n.name === 'relu');
    expect(relu?.opType).toBe('Relu');
    expect(m.graph.node.find((n) => n.name === 'residual')!.input[1]).toBe('r');
    expect(producer(m, m.graph.node.find((n) => n.name === 'conv2')!.input[0]!)?.opType).toBe('DequantizeLinear');
    const [ref, got] = await Promise.all([run(model, one), run(m, one)]);
    expect(sqnrDb(ref.y!, got.y!)).toBeGreaterThan(30);
  });

  it('refuses an unknown placement', () => {
    expect(() => tensorsToCalibrate(filmChain(), { ...U8S8, placement: 'everywhere' as never })).toThrow(/placement must be one of onnxruntime, weighted-inputs/);
  });
});
