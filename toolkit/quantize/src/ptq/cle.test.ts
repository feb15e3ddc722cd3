/**
 * Cross-layer equalization against answers known without the code: weights built with hand-picked
 * channel ranges (max |w| of each channel set by construction), so the equalized ranges must be
 * sqrt(r1 r2) for a pair and the cube root of the product for a three-layer depthwise chain; and the
 * function the model computes, checked in onnxruntime-node on random inputs, must not change.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ortThreadOptions } from '@akb/jscc';
import { modelInputs } from '../calibrate/inputs.js';
import { decodeModel, encodeModel } from '../onnx/io.js';
import { makeNode, makeValueInfo, withOutputs } from '../onnx/graph.js';
import { makeTensor, tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Model, type Node, type TensorProto } from '../onnx/types.js';
import { biasAbsorptionTensors, equalizeCrossLayer } from './cle.js';
import { channelMinima as measuredMinima } from './channel-minima.js';

/** A deterministic uniform source in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Weights of shape `dims` where every value w has |w| <= ranges[channel] and the first value of each
 * channel is exactly +ranges[channel]; `channelOf(index of axis 0, index of axis 1)` names the channel.
 */
function withRanges(dims: number[], ranges: number[], channelOf: (a0: number, a1: number) => number, seed: number): Float32Array {
  const k = dims.slice(2).reduce((a, b) => a * b, 1);
  const w = new Float32Array(dims.reduce((a, b) => a * b, 1));
  const rand = rng(seed);
  const seen = new Set<number>();
  for (let a0 = 0; a0 < dims[0]!; a0++) {
    for (let a1 = 0; a1 < dims[1]!; a1++) {
      const c = channelOf(a0, a1);
      for (let j = 0; j < k; j++) {
        const i = (a0 * dims[1]! + a1) * k + j;
        w[i] = seen.has(c) ? (2 * rand() - 1) * 0.9 * ranges[c]! : ranges[c]!;
        seen.add(c);
      }
    }
  }
  return w;
}

/** max |w| per channel, by brute force over every index. */
function rangesOf(w: Float32Array, dims: readonly number[], channels: number, channelOf: (a0: number, a1: number) => number): number[] {
  const k = dims.slice(2).reduce((a, b) => a * b, 1);
  const r = new Array<number>(channels).fill(0);
  for (let a0 = 0; a0 < dims[0]!; a0++) {
    for (let a1 = 0; a1 < dims[1]!; a1++) {
      const c = channelOf(a0, a1);
      for (let j = 0; j < k; j++) r[c] = Math.max(r[c]!, Math.abs(w[(a0 * dims[1]! + a1) * k + j]!));
    }
  }
  return r;
}

const convOut = (a0: number): number => a0; // Conv [Cout, Cin/g, k]: output channel on axis 0
/** Conv input channel: group of the output channel times Cin/g, plus the axis-1 index. */
const convIn = (coutPerGroup: number, cinPerGroup: number) => (a0: number, a1: number) => Math.floor(a0 / coutPerGroup) * cinPerGroup + a1;
const convTIn = (a0: number): number => a0; // ConvTranspose [Cin, Cout/g, k]: input channel on axis 0
const convTOut = (cinPerGroup: number, coutPerGroup: number) => (a0: number, a1: number) => Math.floor(a0 / cinPerGroup) * coutPerGroup + a1;

function bias(name: string, n: number, seed: number): TensorProto {
  const rand = rng(seed);
  return makeTensor(name, DataType.FLOAT, [n], Float32Array.from({ length: n }, () => rand() - 0.5));
}

function model(nodes: Node[], inits: TensorProto[], input: number[], output = 'y'): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: nodes,
      initializer: inits,
      sparseInitializer: [],
      input: [makeValueInfo('x', DataType.FLOAT, input)],
      output: [makeValueInfo(output, DataType.FLOAT)],
      valueInfo: [],
      quantizationAnnotation: [],
    },
    metadataProps: [],
    functions: [],
  };
}

const init = (m: Model, name: string): TensorProto => m.graph.initializer.find((t) => t.name === name)!;
const values = (m: Model, name: string): Float32Array => tensorToFloat32(init(m, name));

async function runModel(m: Model, feeds: Record<string, ort.Tensor>, fetch?: string[]): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(encodeModel(fetch ? withOutputs(m, fetch) : m), { graphOptimizationLevel: 'disabled', ...ortThreadOptions() });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(session.outputNames.map((n) => [n, out[n]!.data as Float32Array]));
  } finally {
    await session.release();
  }
}

function randomInput(dims: number[], seed: number): ort.Tensor {
  const rand = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', Float32Array.from({ length: n }, () => 4 * rand() - 2), dims);
}

/** max |a - b| over max |a|: float32 rounding of rescaled weights moves outputs by a few 1e-7 of their scale. */
function relativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

async function expectSameFunction(before: Model, after: Model, dims: number[]): Promise<void> {
  for (const seed of [1, 2, 3]) {
    const x = randomInput(dims, seed);
    const [a, b] = [await runModel(before, { x }), await runModel(after, { x })];
    for (const name of Object.keys(a)) expect(relativeDiff(a[name]!, b[name]!)).toBeLessThan(1e-5);
  }
}

function expectClose(got: number[], want: number[], rel = 1e-6): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(rel * want[i]!));
}

/** Conv(3 → 4, 3x3, pad 1) → act → Conv(4 → 2, 3x3, pad 1), output channel ranges r1, input r2. */
function convPair(act: Node[], r1: number[], r2: number[]): Model {
  const w1 = makeTensor('w1', DataType.FLOAT, [4, 3, 3, 3], withRanges([4, 3, 3, 3], r1, convOut, 11));
  const w2 = makeTensor('w2', DataType.FLOAT, [2, 4, 3, 3], withRanges([2, 4, 3, 3], r2, convIn(2, 4), 12));
  const mid = act.length > 0 ? act.at(-1)!.output[0]! : 'h';
  const pads = { pads: [1, 1, 1, 1] };
  return model(
    [makeNode('Conv', ['x', 'w1', 'b1'], ['h'], 'conv1', pads), ...act, makeNode('Conv', [mid, 'w2', 'b2'], ['y'], 'conv2', pads)],
    [w1, w2, bias('b1', 4, 13), bias('b2', 2, 14), makeTensor('slope', DataType.FLOAT, [4, 1, 1], Float32Array.of(0.1, 0.5, 2, -0.3))],
    [2, 3, 6, 6],
  );
}

describe('cross-layer equalization', () => {
  const r1 = [10, 0.1, 1, 2];
  const r2 = [0.1, 10, 4, 0.5];
  const equal = [1, 1, 2, 1]; // sqrt(r1 r2)

  for (const [label, act] of [
    ['Relu', [makeNode('Relu', ['h'], ['a'], 'relu')]],
    ['PRelu with a per-channel slope', [makeNode('PRelu', ['h', 'slope'], ['a'], 'prelu')]],
    ['LeakyRelu', [makeNode('LeakyRelu', ['h'], ['a'], 'leaky', { alpha: 0.2 })]],
    ['no activation', []],
  ] as const) {
    it(`Conv → ${label} → Conv: both channel ranges become sqrt(r1 r2), the output does not change`, async () => {
      const m = convPair([...act], r1, r2);
      const { model: eq, summary } = equalizeCrossLayer(m);
      expect(summary.pairs).toHaveLength(1);
      expect(summary.pairs[0]).toMatchObject({ first: 'conv1', second: 'conv2', channels: 4 });
      expect(summary.pairs[0]!.pairRatio.before).toBeCloseTo(100, 4); // channels 0 and 1: 10 / 0.1 (float32 0.1)
      expect(summary.pairs[0]!.pairRatio.after).toBeCloseTo(1, 6);
      expectClose(rangesOf(values(eq, 'w1'), [4, 3, 3, 3], 4, convOut), equal);
      expectClose(rangesOf(values(eq, 'w2'), [2, 4, 3, 3], 4, convIn(2, 4)), equal);
      // the bias follows its channel: b1_i / s_i with s_i = sqrt(r1_i / r2_i)
      const s = r1.map((r, i) => Math.sqrt(r / r2[i]!));
      expectClose([...values(eq, 'b1')].map(Math.abs), [...values(m, 'b1')].map((b, i) => Math.abs(b / s[i]!)), 1e-6);
      await expectSameFunction(m, eq, [2, 3, 6, 6]);
      // the input model is untouched
      expect(rangesOf(values(m, 'w1'), [4, 3, 3, 3], 4, convOut)).toEqual(r1.map(Math.fround));
    });
  }

  it('leaves a pair joined by a Sigmoid (not positively homogeneous) alone', () => {
    const m = convPair([makeNode('Sigmoid', ['h'], ['a'], 'sigmoid')], r1, r2);
    const { model: eq, summary } = equalizeCrossLayer(m);
    expect(summary.pairs).toEqual([]);
    expect(values(eq, 'w1')).toEqual(values(m, 'w1'));
    expect(values(eq, 'w2')).toEqual(values(m, 'w2'));
  });

  it('leaves a pair alone when the intermediate tensor has a second consumer or is a graph output', () => {
    const m = convPair([makeNode('Relu', ['h'], ['a'], 'relu')], r1, r2);
    const twoUsers: Model = { ...m, graph: { ...m.graph, node: [...m.graph.node, makeNode('Relu', ['h'], ['z'], 'other')] } };
    expect(equalizeCrossLayer(twoUsers).summary.pairs).toEqual([]);
    const asOutput: Model = { ...m, graph: { ...m.graph, output: [...m.graph.output, makeValueInfo('a', DataType.FLOAT)] } };
    expect(equalizeCrossLayer(asOutput).summary.pairs).toEqual([]);
  });

  it('conv → relu → depthwise → relu → conv converges to the cube root of the three ranges', async () => {
    const a = [8, 0.5, 1, 3];
    const d = [0.25, 4, 1, 9];
    const c = [0.5, 0.5, 8, 1];
    const w1 = makeTensor('w1', DataType.FLOAT, [4, 3, 1, 1], withRanges([4, 3, 1, 1], a, convOut, 21));
    const wd = makeTensor('wd', DataType.FLOAT, [4, 1, 3, 3], withRanges([4, 1, 3, 3], d, convOut, 22));
    const w3 = makeTensor('w3', DataType.FLOAT, [2, 4, 1, 1], withRanges([2, 4, 1, 1], c, convIn(2, 4), 23));
    const m = model(
      [
        makeNode('Conv', ['x', 'w1', 'b1'], ['h1'], 'conv1'),
        makeNode('Relu', ['h1'], ['a1'], 'relu1'),
        makeNode('Conv', ['a1', 'wd', 'bd'], ['h2'], 'dw', { group: 4, pads: [1, 1, 1, 1] }),
        makeNode('Relu', ['h2'], ['a2'], 'relu2'),
        makeNode('Conv', ['a2', 'w3'], ['y'], 'conv3'),
      ],
      [w1, wd, w3, bias('b1', 4, 24), bias('bd', 4, 25)],
      [1, 3, 5, 5],
    );
    const { model: eq, summary } = equalizeCrossLayer(m);
    expect(summary.converged).toBe(true);
    expect(summary.pairs.map((p) => [p.first, p.second])).toEqual([['conv1', 'dw'], ['dw', 'conv3']]);
    const want = a.map((v, i) => Math.cbrt(v * d[i]! * c[i]!));
    expectClose(rangesOf(values(eq, 'w1'), [4, 3, 1, 1], 4, convOut), want, 1e-5);
    expectClose(rangesOf(values(eq, 'wd'), [4, 1, 3, 3], 4, convOut), want, 1e-5);
    expectClose(rangesOf(values(eq, 'w3'), [2, 4, 1, 1], 4, convIn(2, 4)), want, 1e-5);
    await expectSameFunction(m, eq, [1, 3, 5, 5]);
  });

  it('ConvTranspose (group 2) → LeakyRelu → ConvTranspose: [Cin, Cout/g, k, k] layouts', async () => {
    const r1t = [6, 0.2, 1, 1, 0.05, 3]; // output channels of the first (Cout = 6, 3 per group)
    const r2t = [0.6, 5, 4, 0.25, 20, 3]; // input channels of the second
    const w1 = makeTensor('w1', DataType.FLOAT, [4, 3, 3, 3], withRanges([4, 3, 3, 3], r1t, convTOut(2, 3), 31));
    const w2 = makeTensor('w2', DataType.FLOAT, [6, 2, 2, 2], withRanges([6, 2, 2, 2], r2t, convTIn, 32));
    const m = model(
      [
        makeNode('ConvTranspose', ['x', 'w1', 'b1'], ['h'], 'up1', { group: 2, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }),
        makeNode('LeakyRelu', ['h'], ['a'], 'leaky', { alpha: 0.1 }),
        makeNode('ConvTranspose', ['a', 'w2', 'b2'], ['y'], 'up2', { strides: [2, 2] }),
      ],
      [w1, w2, bias('b1', 6, 33), bias('b2', 2, 34)],
      [1, 4, 4, 4],
    );
    const { model: eq, summary } = equalizeCrossLayer(m);
    expect(summary.pairs).toHaveLength(1);
    const want = r1t.map((v, i) => Math.sqrt(v * r2t[i]!));
    expectClose(rangesOf(values(eq, 'w1'), [4, 3, 3, 3], 6, convTOut(2, 3)), want);
    expectClose(rangesOf(values(eq, 'w2'), [6, 2, 2, 2], 6, convTIn), want);
    await expectSameFunction(m, eq, [1, 4, 4, 4]);
  });

  it('bias absorption moves a positive pre-activation floor into the next bias, exactly on the data it was measured on', async () => {
    // conv1 (1x1) → Relu → conv2 (3x3, no padding); biases of +3 keep channels 0 and 2 positive on inputs in [-2, 2)
    const w1 = makeTensor('w1', DataType.FLOAT, [4, 3, 1, 1], withRanges([4, 3, 1, 1], [0.2, 1, 0.3, 2], convOut, 41));
    const w2 = makeTensor('w2', DataType.FLOAT, [2, 4, 3, 3], withRanges([2, 4, 3, 3], [1, 1, 1, 1], convIn(2, 4), 42));
    const b1 = makeTensor('b1', DataType.FLOAT, [4], Float32Array.of(3, 0.1, 3, -0.5));
    const nodes = (pads: number[]) => [
      makeNode('Conv', ['x', 'w1', 'b1'], ['h'], 'conv1'),
      makeNode('Relu', ['h'], ['a'], 'relu'),
      makeNode('Conv', ['a', 'w2'], ['y'], 'conv2', { pads }),
    ];
    const m = model(nodes([0, 0, 0, 0]), [w1, w2, b1], [2, 3, 6, 6]);
    const x = randomInput([2, 3, 6, 6], 5);
    const x2 = randomInput([2, 3, 6, 6], 6);
    const both = (f: (t: ort.Tensor) => Promise<number[]>) => Promise.all([f(x), f(x2)]).then(([p, q]) => p.map((v, i) => Math.min(v, q[i]!)));
    const minima = await both(async (t) => channelMinima((await runModel(m, { x: t }, ['h']))['h']!, 2, 4, 36));
    expect(biasAbsorptionTensors(m)).toEqual(['h']);
    // the library's measurement over the two samples equals the brute force
    expect([...(await measuredMinima(m, [{ x }, { x: x2 }], ['h'])).get('h')!]).toEqual(minima);
    expect(minima[0]).toBeGreaterThan(0);
    expect(minima[2]).toBeGreaterThan(0);
    expect(minima[3]).toBeLessThan(0);

    const { model: eq, summary } = equalizeCrossLayer(m, { absorb: new Map([['h', minima]]) });
    const positive = minima.filter((v) => v > 0).length;
    expect(summary.pairs[0]!.absorbedChannels).toBe(positive);
    for (const t of [x, x2]) expect(relativeDiff((await runModel(m, { x: t }))['y']!, (await runModel(eq, { x: t }))['y']!)).toBeLessThan(1e-5);
    // the absorbed channels' pre-activation now starts at 0; the others keep their (rescaled) minimum's sign
    const after = await both(async (t) => channelMinima((await runModel(eq, { x: t }, ['h']))['h']!, 2, 4, 36));
    minima.forEach((v, i) => (v > 0 ? expect(Math.abs(after[i]!)).toBeLessThan(1e-5) : expect(after[i]!).toBeLessThanOrEqual(0)));

    // with padding a constant input channel does not shift border outputs equally: nothing is absorbed
    const padded = model(nodes([1, 1, 1, 1]), [w1, w2, b1], [2, 3, 6, 6]);
    expect(biasAbsorptionTensors(padded)).toEqual([]);
    expect(equalizeCrossLayer(padded, { absorb: new Map([['h', minima]]) }).summary.pairs[0]!.absorbedChannels).toBe(0);
  });

  it('a Deep JSCC encoder and decoder compute the same outputs after CLE', async () => {
    for (const name of ['deepjscc-r12-snr7-enc', 'deepjscc-r12-snr7-dec']) {
      const path = fileURLToPath(new URL(`../../../../models/zoo/${name}/model.onnx`, import.meta.url));
      const m = decodeModel(new Uint8Array(await readFile(path)));
      const { model: eq, summary } = equalizeCrossLayer(m);
      expect(summary.pairs.length).toBeGreaterThan(0);
      for (const seed of [1, 2]) {
        const feeds: Record<string, ort.Tensor> = {};
        for (const input of modelInputs(m)) {
          const dims = (input.dims ?? []).map((d) => (typeof d === 'number' ? d : 1));
          const t = randomInput(dims, seed);
          feeds[input.name] = input.name.includes('snr') ? new ort.Tensor('float32', (t.data as Float32Array).map((v) => 7 + v), dims) : t;
        }
        const [a, b] = [await runModel(m, feeds), await runModel(eq, feeds)];
        for (const out of Object.keys(a)) expect(relativeDiff(a[out]!, b[out]!)).toBeLessThan(1e-4);
      }
    }
  });
});

/** Per-channel minimum of an NCHW tensor. */
function channelMinima(data: Float32Array, n: number, c: number, hw: number): number[] {
  const min = new Array<number>(c).fill(Infinity);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) min[ch] = Math.min(min[ch]!, data[(b * c + ch) * hw + i]!);
  return min;
}
