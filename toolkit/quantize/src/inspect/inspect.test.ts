import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../onnx/errors.js';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { decodeModel, readModel } from '../onnx/io.js';
import { elementCount, makeTensor } from '../onnx/tensor.js';
import { DataType, type Model } from '../onnx/types.js';
import { inspectModel } from './inspect.js';
import { renderInspectReport } from './render.js';
import { QUANTIZABLE_OPS } from './support.js';
import { SUPPORTED_OPS } from '../qdq/rules.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

describe('inspectModel on a zoo model (shapes from a probe run)', async () => {
  const model = await readModel(`${root}models/zoo/akb-jscc-enc/model.onnx`);
  const report = await inspectModel(model);

  it('lists inputs, outputs, opsets and the op histogram', () => {
    expect(report.irVersion).toBe(8);
    expect(report.producer).toBe('pytorch 1.13.0');
    expect(report.opsets).toEqual([{ domain: 'ai.onnx', version: 17 }]);
    expect(report.inputs.map((i) => i.name)).toEqual(['image', 'prior', 'snr_db', 'length']);
    expect(report.inputs[0]).toEqual({ name: 'image', type: 'FLOAT', shape: ['N', 3, 32, 32] });
    expect(report.outputs).toEqual([{ name: 'latent', type: 'FLOAT', shape: ['N', 1024] }]);
    expect(report.ops.reduce((a, o) => a + o.count, 0)).toBe(model.graph.node.length);
    expect(report.ops.find((o) => o.opType === 'Conv')?.count).toBe(model.graph.node.filter((n) => n.opType === 'Conv').length);
  });

  it('counts parameters and bytes from the initializers', () => {
    const elements = model.graph.initializer.reduce((a, t) => a + elementCount(t.dims), 0);
    expect(report.parameters.count).toBe(elements);
    expect(report.parameters.bytes).toBe(elements * 4);
    expect(report.parameters.byType).toEqual([{ type: 'FLOAT', tensors: model.graph.initializer.length, elements, bytes: elements * 4 }]);
  });

  it('estimates MACs per op type with dynamic dims = 1', () => {
    expect(report.macs.shapesFrom).toBe('probe');
    expect(report.macs.dynamicDims).toEqual(['N']);
    expect(report.macs.unknownNodes).toBe(0);
    const conv = report.ops.find((o) => o.opType === 'Conv')!;
    expect(conv.macs).toBeGreaterThan(1e6);
    expect(report.macs.total).toBe(report.ops.reduce((a, o) => a + (o.macs ?? 0), 0));
  });

  it('says which op types the quantizer handles', () => {
    expect(report.ops.find((o) => o.opType === 'Conv')?.quantizer).toBe('weights');
    expect(report.quantizer.quantized).toContain('Conv');
    expect(report.quantizer.keptFloat).toContain('Shape');
    expect(report.quantizer.quantized.length + report.quantizer.keptFloat.length).toBe(report.ops.length);
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('renders an aligned table', () => {
    const lines = renderInspectReport(report, 'akb-jscc-enc');
    expect(lines[0]).toBe('model       akb-jscc-enc');
    const head = lines.findIndex((l) => l.startsWith('op type'));
    const conv = lines.find((l) => l.startsWith('Conv '))!;
    expect(conv).toMatch(/^Conv +13 +\d+\.\d+ M {2}quantized \(weights\)$/);
    expect(conv.indexOf('quantized')).toBe(lines[head]!.indexOf('quantizer'));
    expect(lines.some((l) => l.startsWith('MACs') && l.includes('per N = 1'))).toBe(true);
  });
});

describe('inspectModel MAC arithmetic', () => {
  it('counts Conv and Gemm by hand on the opset-13 fixture', async () => {
    const r = await inspectModel(decodeModel(new Uint8Array(readFileSync(`${fixtures}conv-opset13.onnx`))));
    // Conv: output [1, 4, 8, 8] x (3 x 3 x 3) = 6912; Gemm: [1, 4] x [5, 4]^T = 20.
    expect(r.ops.find((o) => o.opType === 'Conv')?.macs).toBe(6912);
    expect(r.ops.find((o) => o.opType === 'Gemm')?.macs).toBe(20);
  });

  it('counts ConvTranspose and MatMul from the model own value_info, without running it', async () => {
    const r = await inspectModel(decodeModel(new Uint8Array(readFileSync(`${fixtures}mixed-opset17.onnx`))), { probe: false });
    expect(r.macs.shapesFrom).toBe('model');
    // ConvTranspose: input [1, 2, 4, 4] x (3 x 2 x 2) = 384; MatMul: [1, 192] x [192, 6] = 1152.
    expect(r.ops.find((o) => o.opType === 'ConvTranspose')?.macs).toBe(384);
    expect(r.ops.find((o) => o.opType === 'MatMul')?.macs).toBe(1152);
    expect(r.macs.total).toBe(1536);
    expect(r.parameters.byType.map((t) => t.type)).toEqual(['FLOAT', 'INT64', 'FLOAT16']);
    expect(r.parameters.byType.find((t) => t.type === 'FLOAT16')).toEqual({ type: 'FLOAT16', tensors: 1, elements: 6, bytes: 12 });
  });

  it('counts the MLP policy as the sum of its Gemm weight sizes', async () => {
    const model = await readModel(`${root}models/zoo/akb-dqn-policy/model.onnx`);
    const r = await inspectModel(model);
    const gemmWeights = model.graph.node.filter((n) => n.opType === 'Gemm').map((n) => model.graph.initializer.find((t) => t.name === n.input[1])!);
    expect(r.macs.total).toBe(gemmWeights.reduce((a, t) => a + elementCount(t.dims), 0));
  });

  it('counts subgraph nodes in the histogram', async () => {
    const r = await inspectModel(decodeModel(new Uint8Array(readFileSync(`${fixtures}if-loop-opset21.onnx`))));
    expect(r.nodes).toBe(6);
    expect(r.subgraphNodes).toBe(4);
    expect(r.macs.total).toBe(0);
    expect(r.quantizer.keptFloat).toEqual(expect.arrayContaining(['If', 'Loop']));
  });
});

describe('inspectModel on models it cannot fully take', () => {
  it('still reports a model that fails to run, with the reason (thrown at it: a Reshape of 4 values to [7])', async () => {
    const model: Model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'broken',
        node: [makeNode('Reshape', ['x', 'shape'], ['r'], 'reshape'), makeNode('MatMul', ['r', 'w'], ['y'], 'matmul')],
        initializer: [makeTensor('shape', DataType.INT64, [1], BigInt64Array.of(7n)), makeTensor('w', DataType.FLOAT, [7, 2], new Float32Array(14))],
        sparseInitializer: [],
        input: [makeValueInfo('x', DataType.FLOAT, ['N', 4])],
        output: [makeValueInfo('y', DataType.FLOAT)],
        valueInfo: [],
        quantizationAnnotation: [],
      },
      metadataProps: [],
      functions: [],
    };
    const r = await inspectModel(model);
    expect(r.macs).toMatchObject({ total: null, shapesFrom: 'unavailable', unknownNodes: 1 });
    expect(r.macs.note).toMatch(/^probe run failed: .*reshape/i);
    expect(r.macs.note).not.toContain('\n');
    expect(r.parameters.count).toBe(15);
  });

  it('refuses a model without a graph (thrown at it: a ModelProto holding only ir_version)', async () => {
    const err: unknown = await inspectModel(decodeModel(Uint8Array.of(0x08, 0x08))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect((err as Error).message).toBe('the model has no graph');
  });
});

describe('QUANTIZABLE_OPS', () => {
  it('lists exactly the ops the QDQ quantizer has rules for', () => {
    expect(Object.keys(QUANTIZABLE_OPS).sort()).toEqual(Object.keys(SUPPORTED_OPS).sort());
  });
});
