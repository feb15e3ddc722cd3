/**
 * Small hostile ONNX models, built with the package's own writer (no Python), for the tests of the
 * reader's validation and of the commands that read models (`akb inspect`, `akb quantize`): cycles in a
 * graph or a subgraph, tensors whose dims claim far more than their data, absurd declared shapes,
 * weights with flipped bits or NaN.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeNode, makeValueInfo } from '../../toolkit/quantize/src/onnx/graph.js';
import { decodeModel, encodeModel } from '../../toolkit/quantize/src/onnx/io.js';
import { makeTensor } from '../../toolkit/quantize/src/onnx/tensor.js';
import { DataType, type Graph, type Model, type Node, type TensorProto, type ValueInfo } from '../../toolkit/quantize/src/onnx/types.js';
import { tempDir } from './fixtures.js';

const F = DataType.FLOAT;

export function graph(node: Node[], opts: { initializer?: TensorProto[]; input?: ValueInfo[]; output?: ValueInfo[]; valueInfo?: ValueInfo[]; name?: string } = {}): Graph {
  return {
    name: opts.name ?? 'g',
    node,
    initializer: opts.initializer ?? [],
    sparseInitializer: [],
    input: opts.input ?? [makeValueInfo('x', F, ['N', 4])],
    output: opts.output ?? [makeValueInfo('y', F, ['N', 4])],
    valueInfo: opts.valueInfo ?? [],
    quantizationAnnotation: [],
  };
}

export function model(g: Graph, opset = 17): Model {
  return { irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph: g, metadataProps: [], functions: [] };
}

/** Writes `m` as `<name>.onnx` in a fresh temporary folder and returns its path. */
export function writeModel(name: string, m: Model): string {
  const path = join(tempDir(`hostile-${name}`), `${name}.onnx`);
  writeFileSync(path, encodeModel(m));
  return path;
}

/** y = Add(x, y): the Add reads its own output. */
export function addFeedsItself(): Model {
  return model(graph([makeNode('Add', ['x', 'y'], ['y'], 'add')]));
}

/** a = Relu(x + c), b = Neg(a), c = Abs(b): Add -> Relu -> Neg -> Abs -> Add. */
export function threeNodeCycle(): Model {
  return model(
    graph([
      makeNode('Add', ['x', 'c'], ['s'], 'add'),
      makeNode('Relu', ['s'], ['a'], 'relu'),
      makeNode('Neg', ['a'], ['b'], 'neg'),
      makeNode('Abs', ['b'], ['c'], 'abs'),
      makeNode('Identity', ['a'], ['y'], 'out'),
    ]),
  );
}

/** An If whose then-branch has a cycle of its own (t1 = Neg(t2), t2 = Neg(t1)). */
export function cycleInIfBranch(): Model {
  const branch = (cyclic: boolean): Graph =>
    graph(cyclic ? [makeNode('Neg', ['t2'], ['t1'], 'n1'), makeNode('Neg', ['t1'], ['t2'], 'n2'), makeNode('Add', ['x', 't1'], ['r'], 'r')] : [makeNode('Identity', ['x'], ['r'], 'id')], {
      input: [],
      output: [makeValueInfo('r', F, ['N', 4])],
      name: cyclic ? 'then' : 'else',
    });
  return model(
    graph([makeNode('ReduceSum', ['x'], ['s'], 'sum', { keepdims: 0 }), makeNode('Greater', ['s', 'zero'], ['cond'], 'gt'), makeNode('If', ['cond'], ['y'], 'if', { then_branch: branch(true), else_branch: branch(false) })], {
      initializer: [makeTensor('zero', F, [], Float32Array.of(0))],
    }),
  );
}

/** An If whose branch reads the If's own output 'y' from the outer scope. */
export function ifReadsItsOwnOutput(): Model {
  const branch = graph([makeNode('Add', ['x', 'y'], ['r'], 'inner')], { input: [], output: [makeValueInfo('r', F, ['N', 4])], name: 'b' });
  return model(graph([makeNode('Greater', ['x', 'x'], ['c'], 'gt'), makeNode('ReduceMin', ['c'], ['cond'], 'any', { keepdims: 0 }), makeNode('If', ['cond'], ['y'], 'if', { then_branch: branch, else_branch: branch })]));
}

/** A MatMul weight whose dims claim [1048576, 1048576] FLOAT (1.1 T elements, 4.4 TB) over 16 bytes. */
export function trillionParameterInitializer(): Model {
  const w = makeTensor('w', F, [4, 1], Float32Array.of(1, 2, 3, 4));
  w.dims = [1048576, 1048576];
  return model(graph([makeNode('MatMul', ['x', 'w'], ['y'], 'mm')], { initializer: [w] }));
}

/** A Constant whose value declares [1000, 1000] in float_data but holds 3 values. */
export function constantShortOfItsDims(): Model {
  const t: TensorProto = { name: 'v', dims: [1000, 1000], dataType: F, floatData: [1, 2, 3] };
  return model(graph([makeNode('Constant', [], ['c'], 'const', { value: t }), makeNode('Add', ['x', 'c'], ['y'], 'add')]));
}

/** A graph input with dims [2^30, 2^30, 2^30]: 2^90 elements, past 2^53. */
export function inputDimsPast2p53(): Model {
  return model(graph([makeNode('Relu', ['x'], ['y'], 'relu')], { input: [makeValueInfo('x', F, [2 ** 30, 2 ** 30, 2 ** 30])] }));
}

/** A value_info of [1048576, 1048576, 2]: 2^41 elements, past the 2^40 limit. */
export function valueInfoPastLimit(): Model {
  return model(graph([makeNode('Relu', ['x'], ['r'], 'relu'), makeNode('Neg', ['r'], ['y'], 'neg')], { valueInfo: [makeValueInfo('r', F, [1048576, 1048576, 2])] }));
}

/**
 * A copy of the model at `path` whose first float initializer of at least `minElements` values has one
 * value corrupted: set to `value`, or with bit `bit` flipped (default 30, the highest exponent bit, in
 * the value of smallest nonzero magnitude unless `index` says which: the DQN policy's 1.4e-4 becomes
 * 4.7e34, and the policy quantized with activation scales of 4e31 to 2e32 and no word said). Returns the model, the
 * initializer's name and the corrupted value.
 */
export function corruptWeight(path: string, opts: { index?: number; bit?: number; value?: number; minElements?: number } = {}): { model: Model; tensor: string; corrupted: number } {
  const m = decodeModel(new Uint8Array(readFileSync(path)));
  const t = m.graph.initializer.find((i) => i.dataType === DataType.FLOAT && i.rawData !== undefined && i.rawData.length >= 4 * (opts.minElements ?? 16))!;
  const raw = Uint8Array.from(t.rawData!);
  const view = new DataView(raw.buffer);
  const values = new Float32Array(raw.buffer.slice(0));
  let index = opts.index ?? 0;
  if (opts.index === undefined && opts.value === undefined) {
    for (let i = 0; i < values.length; i++) if (values[i] !== 0 && Math.abs(values[i]!) < Math.abs(values[index]!)) index = i;
  }
  if (opts.value !== undefined) view.setFloat32(4 * index, opts.value, true);
  else view.setUint32(4 * index, view.getUint32(4 * index, true) ^ (1 << (opts.bit ?? 30)), true);
  t.rawData = raw;
  return { model: m, tensor: t.name, corrupted: view.getFloat32(4 * index, true) };
}

/** An image model (image [N, 3, 32, 32]) whose Div computes 0 / 0 = NaN from any finite input: z = image - image, q = z / z, y = image + q. */
export function nanFromImages(): Model {
  const image = [makeValueInfo('image', F, ['N', 3, 32, 32])];
  return model(
    graph([makeNode('Sub', ['image', 'image'], ['z'], 'sub'), makeNode('Div', ['z', 'z'], ['q'], 'div'), makeNode('Add', ['image', 'q'], ['y'], 'add')], {
      input: image,
      output: [makeValueInfo('y', F, ['N', 3, 32, 32])],
    }),
  );
}
