import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from './errors.js';
import {
  GraphIndex,
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  makeNode,
  makeValueInfo,
  opsetVersion,
  topoSort,
  uniqueNamer,
  withOutputs,
} from './graph.js';
import { decodeModel, encodeModel } from './io.js';
import { makeTensor } from './tensor.js';
import { AttributeType, DataType, type Model } from './types.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const load = (path: string): Model => decodeModel(new Uint8Array(readFileSync(path)));
const zooModel = (name: string): Model => load(`${root}models/zoo/${name}/model.onnx`);

async function runModel(model: Model, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: 'disabled' });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** A one-node model: float input x [1, 4], output y. */
function singleNodeModel(node: ReturnType<typeof makeNode>, opset = 17): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'one',
      node: [node],
      initializer: [],
      sparseInitializer: [],
      input: [makeValueInfo('x', DataType.FLOAT, [1, 4])],
      output: [makeValueInfo('y', DataType.FLOAT, [1, 4])],
      valueInfo: [],
      quantizationAnnotation: [],
    },
    metadataProps: [],
    functions: [],
  };
}

describe('GraphIndex', () => {
  const model = load(`${fixtures}conv-opset13.onnx`);
  const index = new GraphIndex(model.graph);

  it('answers producers, consumers, initializers, inputs, outputs and element types', () => {
    expect(index.producerOf('c')?.name).toBe('conv');
    expect(index.producerOf('x')).toBeUndefined();
    expect(index.consumersOf('c').map((n) => n.name)).toEqual(['relu']);
    expect(index.consumersOf('nothing')).toEqual([]);
    expect(index.initializer('w')?.dims).toEqual([4, 3, 3, 3]);
    expect(index.isGraphInput('x')).toBe(true);
    expect(index.isGraphOutput('y')).toBe(true);
    expect(index.isGraphOutput('c')).toBe(false);
    expect(index.elemType('w')).toBe(DataType.FLOAT);
    expect(index.elemType('r')).toBe(DataType.FLOAT); // from value_info (shape inference)
  });

  it('counts an If or Loop among the consumers of the outer tensors its subgraphs read', () => {
    const ctl = new GraphIndex(load(`${fixtures}if-loop-opset21.onnx`).graph);
    expect(ctl.consumersOf('x').map((n) => n.opType)).toEqual(['If']);
    expect(ctl.consumersOf('branch').map((n) => n.opType)).toEqual(['Loop']);
  });
});

describe('topoSort', () => {
  it('restores a valid order to a shuffled zoo model, which then runs like the original', async () => {
    const model = zooModel('deepjscc-r6-snr13-enc');
    const shuffled = { ...model, graph: { ...model.graph, node: [...model.graph.node].reverse() } };
    const sorted = topoSort(shuffled.graph);
    expect(sorted).toHaveLength(model.graph.node.length);
    const seen = new Set([...model.graph.input.map((v) => v.name), ...model.graph.initializer.map((t) => t.name), '']);
    for (const n of sorted) {
      for (const i of n.input) expect(seen.has(i), `${n.name} reads ${i} before it is produced`).toBe(true);
      for (const o of n.output) seen.add(o);
    }
    expect(topoSort(model.graph)).toEqual(model.graph.node); // already sorted: the sort is stable
    const x = new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]);
    const a = await runModel(model, { image: x });
    const b = await runModel({ ...shuffled, graph: { ...shuffled.graph, node: sorted } }, { image: x });
    expect(b.latent?.data).toEqual(a.latent?.data);
  });

  it('refuses a cycle (thrown at it: two Relus feeding each other)', () => {
    const graph = singleNodeModel(makeNode('Relu', ['x'], ['y'], 'r')).graph;
    graph.node = [makeNode('Relu', ['b'], ['a'], 'first'), makeNode('Relu', ['a'], ['b'], 'second')];
    expect(() => topoSort(graph)).toThrow(UnsupportedModelError);
    expect(() => topoSort(graph)).toThrow(/graph 'one' has a cycle through node 'first' \(2 nodes never become ready\)/);
  });
});

describe('names, opsets, attributes', () => {
  it('hands out names no graph or subgraph uses, never twice', () => {
    const model = load(`${fixtures}if-loop-opset21.onnx`);
    const fresh = uniqueNamer(model.graph);
    expect(fresh('x')).toBe('x_1');
    expect(fresh('x')).toBe('x_2');
    expect(fresh('two')).toBe('two_1'); // an initializer inside the If's then-branch
    expect(fresh('new')).toBe('new');
    expect(fresh('new')).toBe('new_1');
  });

  it("treats '' and 'ai.onnx' as one domain", () => {
    const model = load(`${fixtures}if-loop-opset21.onnx`);
    expect(opsetVersion(model)).toBe(21);
    expect(opsetVersion(model, 'ai.onnx')).toBe(21);
    expect(opsetVersion(model, 'com.microsoft')).toBeUndefined();
  });

  it('reads attributes with fallbacks', () => {
    const conv = load(`${fixtures}conv-opset13.onnx`).graph.node[0]!;
    expect(attrInts(conv, 'pads')).toEqual([1, 1, 1, 1]);
    expect(attrInts(conv, 'strides')).toBeUndefined();
    expect(attrInt(conv, 'group', 1)).toBe(1);
    const leaky = load(`${fixtures}mixed-opset17.onnx`).graph.node.find((n) => n.opType === 'LeakyRelu')!;
    expect(attrFloat(leaky, 'alpha', 0.01)).toBeCloseTo(0.1, 6);
    const node = makeNode('Resize', ['x'], ['y'], 'resize', { mode: 'nearest' });
    expect(attrString(node, 'mode', 'linear')).toBe('nearest');
    expect(attrString(node, 'coordinate_transformation_mode', 'half_pixel')).toBe('half_pixel');
  });

  it('makes INT for integers, FLOAT for fractions, known float attributes and floatAttrs', () => {
    const n = makeNode('Custom', ['x'], ['y'], 'c', { k: 2, f: 0.5, scale: 1, list: [1, 2], flist: [1, 2], t: makeTensor('t', 1, [1], Float32Array.of(1)) }, 'com.x', ['scale', 'flist']);
    const types = Object.fromEntries(n.attribute.map((a) => [a.name, a.type]));
    expect(types).toEqual({
      k: AttributeType.INT,
      f: AttributeType.FLOAT,
      scale: AttributeType.FLOAT,
      list: AttributeType.INTS,
      flist: AttributeType.FLOATS,
      t: AttributeType.TENSOR,
    });
    expect(n.attribute.map((a) => a.name)).toEqual(['f', 'flist', 'k', 'list', 'scale', 't']);
    expect(makeNode('LeakyRelu', ['x'], ['y'], 'l', { alpha: 1 }).attribute[0]).toEqual({ name: 'alpha', type: AttributeType.FLOAT, f: 1 });
  });

  it('builds nodes onnxruntime accepts: LeakyRelu alpha=1 is a FLOAT, Gemm attributes mixed', async () => {
    const model = singleNodeModel(makeNode('LeakyRelu', ['x'], ['y'], 'leaky', { alpha: 1 }));
    const out = await runModel(model, { x: new ort.Tensor('float32', Float32Array.of(-2, -1, 0, 3), [1, 4]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([-2, -1, 0, 3]);
    const gemm = singleNodeModel(makeNode('Gemm', ['x', 'w'], ['y'], 'gemm', { alpha: 2, transB: 1 }));
    gemm.graph.initializer.push(makeTensor('w', DataType.FLOAT, [4, 4], Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0))));
    const g = await runModel(gemm, { x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [1, 4]) });
    expect(Array.from(g.y!.data as Float32Array)).toEqual([2, 4, 6, 8]);
  });
});

describe('withOutputs', () => {
  it('exposes every intermediate tensor of a zoo model to onnxruntime without changing the model', async () => {
    const model = zooModel('akb-dqn-policy');
    const inner = model.graph.node.flatMap((n) => n.output);
    const probe = withOutputs(model, [...inner, 'q_values']);
    expect(model.graph.output).toHaveLength(1);
    expect(probe.graph.output.map((v) => v.name)).toEqual(['q_values', ...inner.filter((n) => n !== 'q_values')]);
    const out = await runModel(probe, { state: new ort.Tensor('float32', new Float32Array(11).fill(0.25), [1, 11]) });
    for (const name of inner) expect(out[name], name).toBeDefined();
    const plain = await runModel(model, { state: new ort.Tensor('float32', new Float32Array(11).fill(0.25), [1, 11]) });
    expect(out.q_values?.data).toEqual(plain.q_values?.data);
  });

  it('types a new output from value_info when the model has it', () => {
    const model = load(`${fixtures}conv-opset13.onnx`);
    const out = withOutputs(model, ['r']).graph.output.at(-1)!;
    expect(out.type?.tensorType?.elemType).toBe(DataType.FLOAT);
  });
});
