import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ortThreadOptions } from './ort-threads.js';

describe('AKB_ORT_THREADS', () => {
  it('unset or empty leaves onnxruntime to choose; n sets intra-op threads to n and inter-op to 1', () => {
    expect(ortThreadOptions({})).toEqual({});
    expect(ortThreadOptions({ AKB_ORT_THREADS: '' })).toEqual({});
    expect(ortThreadOptions({ AKB_ORT_THREADS: '1' })).toEqual({ intraOpNumThreads: 1, interOpNumThreads: 1 });
    expect(ortThreadOptions({ AKB_ORT_THREADS: ' 4 ' })).toEqual({ intraOpNumThreads: 4, interOpNumThreads: 1 });
  });

  it('refuses anything but an integer of at least 1 in one line, exit 1', () => {
    for (const bad of ['0', '-2', '1.5', 'two', '1e3']) {
      expect(() => ortThreadOptions({ AKB_ORT_THREADS: bad })).toThrow(`AKB_ORT_THREADS must be an integer of at least 1, got "${bad}"`);
    }
    try {
      ortThreadOptions({ AKB_ORT_THREADS: '0' });
    } catch (e) {
      expect(e).toMatchObject({ code: 'BAD_ENVIRONMENT', exitCode: 1 });
    }
  });

  it('onnxruntime-node takes the options', async () => {
    const { makeNode, makeValueInfo } = await import('./onnx/graph.js');
    const { encodeModel } = await import('./onnx/io.js');
    const bytes = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      metadataProps: [],
      functions: [],
      graph: { name: 'g', node: [makeNode('Relu', ['x'], ['y'], 'r')], initializer: [], sparseInitializer: [], input: [makeValueInfo('x', 1, [2])], output: [makeValueInfo('y', 1, [2])], valueInfo: [], quantizationAnnotation: [] },
    });
    const session = await ort.InferenceSession.create(bytes, ortThreadOptions({ AKB_ORT_THREADS: '1' }));
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 2), [2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([0, 2]); // exact: a Relu rounds nothing
    await session.release();
  });
});
