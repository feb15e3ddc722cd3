import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError, UnsupportedModelError } from './errors.js';
import { makeNode, makeValueInfo } from './graph.js';
import { decodeModel, encodeModel } from './io.js';
import { bytesPerElement, dataTypeName, elementCount, makeTensor, tensorByteLength, tensorToBigInt64, tensorToFloat32 } from './tensor.js';
import { DataType, type Model, type TensorProto } from './types.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const load = (file: string): Model => decodeModel(new Uint8Array(readFileSync(fixtures + file)));
const byName = (m: Model): Record<string, TensorProto> => Object.fromEntries(m.graph.initializer.map((t) => [t.name, t]));

describe('sizes and names', () => {
  it('counts elements and bytes', () => {
    expect(elementCount([])).toBe(1);
    expect(elementCount([2, 0, 5])).toBe(0);
    expect(elementCount([4, 3, 3, 3])).toBe(108);
    expect(bytesPerElement(DataType.FLOAT16)).toBe(2);
    expect(bytesPerElement(DataType.INT4)).toBe(0.5);
    expect(tensorByteLength(DataType.INT4, 5)).toBe(3);
    expect(tensorByteLength(DataType.STRING, 5)).toBeUndefined();
    expect(dataTypeName(DataType.BFLOAT16)).toBe('BFLOAT16');
    expect(dataTypeName(99)).toBe('UNKNOWN(99)');
  });

  it('refuses bad dims and sizeless types (thrown at it: dims [2, -1], STRING)', () => {
    expect(() => elementCount([2, -1])).toThrow(OnnxFormatError);
    expect(() => elementCount([2, -1])).toThrow('invalid tensor dimension -1 in [2, -1]');
    expect(() => bytesPerElement(DataType.STRING)).toThrow(UnsupportedModelError);
  });
});

describe('tensorToFloat32', () => {
  it('reads raw float16 and int64 initializers saved by numpy', () => {
    const t = byName(load('mixed-opset17.onnx'));
    expect(Array.from(tensorToFloat32(t.half_scale!))).toEqual([0.5, -2, 65504, 6.097555160522461e-5, 1.1920928955078125e-7, 3.140625]);
    expect(Array.from(tensorToFloat32(t.shape!))).toEqual([1, -1]);
    expect(tensorToBigInt64(t.shape!)).toEqual(BigInt64Array.of(1n, -1n));
    expect(tensorToFloat32(t.mm_w!)).toHaveLength(192 * 6);
  });

  it('reads the typed *_data fields', () => {
    const t = byName(load('kitchen-sink.onnx'));
    expect(Array.from(tensorToFloat32(t.d!))).toEqual([1.5, -2.25]);
    expect(Array.from(tensorToFloat32(t.i32!))).toEqual([-1, 0, 2 ** 31]); // 2^31 - 1 rounds in float32
    expect(Array.from(tensorToFloat32(t.h!))).toEqual([1, -65504]);
    expect(Array.from(tensorToFloat32(t.fl!))).toEqual([Math.fround(0.1), -0]);
    expect(tensorToBigInt64(t.i64!)).toEqual(BigInt64Array.of(-(2n ** 63n), -1n, 2n ** 63n - 1n));
  });

  it('refuses a payload that does not fit the shape (thrown at it: 7 raw bytes for 2 floats, 1 float_data value for 2)', () => {
    expect(() => tensorToFloat32({ name: 'x', dims: [2], dataType: 1, rawData: new Uint8Array(7) })).toThrow(
      "tensor 'x' (FLOAT [2]) has 7 bytes of raw data, expected 8",
    );
    expect(() => tensorToFloat32({ name: 'y', dims: [2], dataType: 1, floatData: [1] })).toThrow("tensor 'y' has 1 values in float_data, its shape [2] needs 2");
  });

  it('refuses strings and unloaded external data (thrown at it: a STRING tensor, an EXTERNAL tensor)', () => {
    const t = byName(load('kitchen-sink.onnx'));
    expect(() => tensorToFloat32(t.s!)).toThrow(UnsupportedModelError);
    expect(() => tensorToFloat32({ name: 'e', dims: [1], dataType: 1, dataLocation: 1 })).toThrow(/external file that was not loaded/);
  });
});

describe('makeTensor', () => {
  it('stores values little-endian in rawData, converting float32 to float16 and packing int4', () => {
    const h = makeTensor('h', DataType.FLOAT16, [3], Float32Array.of(1, -2, 0.1));
    expect(Array.from(new Uint16Array(h.rawData!.slice().buffer))).toEqual([0x3c00, 0xc000, 0x2e66]);
    expect(Array.from(tensorToFloat32(h))).toEqual([1, -2, 0.0999755859375]);
    const q = makeTensor('q', DataType.INT4, [3], Int8Array.of(-8, 7, -1));
    expect(Array.from(q.rawData!)).toEqual([0x78, 0x0f]);
    expect(Array.from(tensorToFloat32(q))).toEqual([-8, 7, -1]);
    const view = new Float32Array(new ArrayBuffer(64), 8, 2).fill(3);
    expect(makeTensor('v', DataType.FLOAT, [2], view).rawData).toHaveLength(8); // a view, copied exactly
  });

  it('makes initializers onnxruntime reads correctly (int8 weights through DequantizeLinear, float16 through Cast)', async () => {
    const model: Model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'dq',
        node: [
          makeNode('DequantizeLinear', ['wq', 'scale', 'zp'], ['w'], 'dq'),
          makeNode('Cast', ['h'], ['hf'], 'cast', { to: DataType.FLOAT }),
          makeNode('Add', ['x', 'w'], ['xw'], 'add'),
          makeNode('Mul', ['xw', 'hf'], ['y'], 'mul'),
        ],
        initializer: [
          makeTensor('wq', DataType.INT8, [4], Int8Array.of(-128, -1, 0, 127)),
          makeTensor('scale', DataType.FLOAT, [], Float32Array.of(0.5)),
          makeTensor('zp', DataType.INT8, [], Int8Array.of(1)),
          makeTensor('h', DataType.FLOAT16, [4], Float32Array.of(1, 2, -0.5, 0.25)),
        ],
        sparseInitializer: [],
        input: [makeValueInfo('x', DataType.FLOAT, [4])],
        output: [makeValueInfo('y', DataType.FLOAT, [4])],
        valueInfo: [],
        quantizationAnnotation: [],
      },
      metadataProps: [],
      functions: [],
    };
    const s = await ort.InferenceSession.create(encodeModel(model));
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [4]) });
    await s.release();
    expect(Array.from(out.y!.data as Float32Array)).toEqual([-64.5 * 1, -1 * 2, -0.5 * -0.5, 63 * 0.25]);
  });

  it('refuses an array of the wrong kind or length (thrown at it: Int32Array for FLOAT, 3 values for [2], 9 for INT4)', () => {
    expect(() => makeTensor('a', DataType.FLOAT, [2], Int32Array.of(1, 2))).toThrow("makeTensor 'a': a Int32Array cannot hold FLOAT values (use Float32Array)");
    expect(() => makeTensor('b', DataType.FLOAT, [2], Float32Array.of(1, 2, 3))).toThrow(RangeError);
    expect(() => makeTensor('c', DataType.INT4, [1], Int8Array.of(9))).toThrow('9 does not fit INT4');
  });
});
