import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeNode, makeValueInfo } from '../onnx/graph.js';
import { readModel } from '../onnx/io.js';
import type { Model } from '../onnx/types.js';
import { loadCalibrationSamples } from './data.js';
import { parseNpy } from './npy.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));
const CIFAR = root('models/samples/cifar10-test');
const FIXTURE_NPY = root('toolkit/quantize/fixtures/calib/cifar10-test-20.u8.npy');
const zoo = (name: string): Promise<Model> => readModel(root(`models/zoo/${name}/model.onnx`));

/** A .npy file's bytes (format 1.0). */
function npy(descr: string, shape: number[], payload: Uint8Array, fortran = false): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = (64 - ((10 + dict.length + 1) % 64)) % 64;
  const header = Buffer.from(dict + ' '.repeat(pad) + '\n', 'latin1');
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, header, payload]);
}

/** A one-input model (Identity) taking float32 [N, C, H, W]: enough for the loader's input checks. */
function imageModel(c: number, h: number, w: number): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: [makeNode('Identity', ['x'], ['y'], 'id')],
      initializer: [],
      sparseInitializer: [],
      input: [makeValueInfo('x', 1, ['N', c, h, w])],
      output: [makeValueInfo('y', 1, ['N', c, h, w])],
      valueInfo: [],
      quantizationAnnotation: [],
    },
    metadataProps: [],
    functions: [],
  };
}

function writePng(path: string, w: number, h: number, pixel: (x: number, y: number) => [number, number, number]): void {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = pixel(x, y);
      png.data.set([r, g, b, 255], (y * w + x) * 4);
    }
  }
  writeFileSync(path, PNG.sync.write(png));
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'akb-calib-data-'));
});

describe('loadCalibrationSamples from images', () => {
  it('decodes the CIFAR-10 samples in file-name order to NCHW float32 in [0, 1], as the committed pixels', async () => {
    const model = await zoo('deepjscc-r12-snr7-enc');
    const samples = await loadCalibrationSamples(CIFAR, model);
    expect(samples).toHaveLength(20);
    const ref = parseNpy(readFileSync(FIXTURE_NPY), FIXTURE_NPY);
    samples.forEach((s, i) => {
      const t = s.image!;
      expect(t.dims).toEqual([1, 3, 32, 32]);
      expect(t.type).toBe('float32');
      const expected = Float32Array.from(ref.data.subarray(i * 3072, (i + 1) * 3072), (v) => v / 255);
      expect(t.data).toEqual(expected);
    });
    // the uint8 .npy of the same pixels loads to the same tensors
    const fromNpy = await loadCalibrationSamples(FIXTURE_NPY, model, { limit: 3 });
    expect(fromNpy.map((s) => s.image!.data)).toEqual(samples.slice(0, 3).map((s) => s.image!.data));
  });

  it('takes the first `limit` files and resizes bilinearly (2x down = 2x2 mean) to the input size', async () => {
    const dir = join(tmp, 'resize');
    mkdirSync(dir);
    writePng(join(dir, 'b.png'), 8, 6, (x, y) => [x * 30, y * 40, (x + y) % 2 ? 255 : 0]);
    writePng(join(dir, 'a.png'), 8, 6, () => [10, 20, 30]);
    const samples = await loadCalibrationSamples(dir, imageModel(3, 3, 4));
    expect(samples).toHaveLength(2);
    expect(Array.from(samples[0]!.x!.data as Float32Array).slice(0, 12)).toEqual(new Array<number>(12).fill(Math.fround(10 / 255)));
    const b = samples[1]!.x!.data as Float32Array;
    expect(samples[1]!.x!.dims).toEqual([1, 3, 3, 4]);
    // red at output (0, 1) averages input columns 2, 3: (60 + 90) / 2 / 255; blue averages a checkerboard: 0.5
    expect(b[1]).toBeCloseTo(75 / 255, 6);
    expect(b[2 * 12 + 5]).toBeCloseTo(0.5, 6);
    expect(await loadCalibrationSamples(dir, imageModel(3, 3, 4), { limit: 1 })).toHaveLength(1);
  });

  it('gives a 1-channel input BT.601 luma', async () => {
    const dir = join(tmp, 'gray');
    mkdirSync(dir);
    writePng(join(dir, 'red.png'), 2, 2, () => [255, 0, 0]);
    const [s] = await loadCalibrationSamples(dir, imageModel(1, 2, 2));
    expect(s!.x!.dims).toEqual([1, 1, 2, 2]);
    expect(Array.from(s!.x!.data as Float32Array)).toEqual(new Array<number>(4).fill(Math.fround(0.299)));
  });

  it('fills an SNR input from fixedInputs and says in one line which input needs a value', async () => {
    const model = await zoo('deepjscc-r12-adaptive-enc');
    // no fixedInputs for the adaptive encoder's snr_db input
    await expect(loadCalibrationSamples(CIFAR, model)).rejects.toThrow(/^input 'snr_db' \(float32 \[N, 1\]\) needs a value: pass it in fixedInputs$/);
    const samples = await loadCalibrationSamples(CIFAR, model, { fixedInputs: { snr_db: 7 }, limit: 2 });
    expect(samples[1]!.snr_db!.dims).toEqual([1, 1]);
    expect(Array.from(samples[1]!.snr_db!.data as Float32Array)).toEqual([7]);
    // a fixed input the model does not have
    await expect(loadCalibrationSamples(CIFAR, model, { fixedInputs: { snr_db: 7, snr: 3 } })).rejects.toThrow(/^fixedInputs names 'snr', which is not an input of the model \(its inputs: image, snr_db\)$/);
    // a fixed value of the wrong length
    await expect(loadCalibrationSamples(CIFAR, model, { fixedInputs: { snr_db: new Float32Array(3) } })).rejects.toThrow(/^fixed input 'snr_db' has 3 values, its shape \[1, 1\] needs 1$/);
  });
});

describe('loadCalibrationSamples refuses bad data in one line', () => {
  const oneLine = (e: unknown): string => {
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  };
  const rejects = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e, 'expected a rejection').toBeInstanceOf(Error);
    expect(oneLine(e)).toMatch(re);
  };

  it('an empty folder, a missing path, a file of another kind', async () => {
    const model = await zoo('deepjscc-r12-snr7-enc');
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'no images here');
    await rejects(loadCalibrationSamples(empty, model), /^no PNG or JPEG images in .*empty$/);
    await rejects(loadCalibrationSamples(join(tmp, 'nowhere'), model), /^calibration data not found: .*nowhere$/);
    await rejects(loadCalibrationSamples(join(empty, 'notes.txt'), model), /^calibration data must be a folder of PNG\/JPEG images or a \.npy file: /);
  });

  it('a corrupt JPEG and a text file named .png', async () => {
    const model = await zoo('deepjscc-r12-snr7-enc');
    const dir = join(tmp, 'corrupt');
    mkdirSync(dir);
    copyFileSync(join(CIFAR, '00000-airplane.jpg'), join(dir, 'a-good.jpg'));
    const jpg = readFileSync(join(CIFAR, '00037-airplane.jpg'));
    writeFileSync(join(dir, 'b-truncated.jpg'), jpg.subarray(0, 400)); // cut in the middle of the scan
    await rejects(loadCalibrationSamples(dir, model), /^cannot decode .*b-truncated\.jpg: /);
    const dir2 = join(tmp, 'fake');
    mkdirSync(dir2);
    writeFileSync(join(dir2, 'x.png'), 'hello');
    await rejects(loadCalibrationSamples(dir2, model), /^cannot decode .*x\.png: not a PNG or JPEG file$/);
  });

  it('a truncated .npy, a .npy of the wrong shape or dtype, Fortran order, no magic', async () => {
    const model = await zoo('deepjscc-r12-snr7-enc');
    const file = (name: string, bytes: Uint8Array): string => {
      const p = join(tmp, name);
      writeFileSync(p, bytes);
      return p;
    };
    // uint8 (20, 3, 32, 32) needs 61440 data bytes; 1000 given
    await rejects(loadCalibrationSamples(file('trunc.npy', npy('|u1', [20, 3, 32, 32], new Uint8Array(1000))), model), /truncated \.npy: shape \(20, 3, 32, 32\) uint8 needs 61440 data bytes, the file has 1000$/);
    // the header itself cut short
    await rejects(loadCalibrationSamples(file('trunc2.npy', npy('<f4', [1], new Uint8Array(4)).subarray(0, 40)), model), /truncated \.npy: the header needs \d+ bytes, the file ends first$/);
    // float32 images of 16x16 for a 32x32 input
    await rejects(
      loadCalibrationSamples(file('shape.npy', npy('<f4', [4, 3, 16, 16], new Uint8Array(4 * 3 * 16 * 16 * 4))), model),
      /shape\.npy: shape \(4, 3, 16, 16\) float32 does not fit input 'image' float32 \[N, 3, 32, 32\]/,
    );
    // int64 data
    await rejects(loadCalibrationSamples(file('int.npy', npy('<i8', [1, 3, 32, 32], new Uint8Array(3072 * 8))), model), /dtype '<i8' is not supported: \.npy calibration data must be little-endian float32, float64 or uint8$/);
    await rejects(loadCalibrationSamples(file('be.npy', npy('>f4', [1, 3, 32, 32], new Uint8Array(3072 * 4))), model), /big-endian data is not supported/);
    await rejects(loadCalibrationSamples(file('f.npy', npy('<f4', [1, 3, 32, 32], new Uint8Array(3072 * 4), true)), model), /Fortran-order \.npy is not supported/);
    await rejects(loadCalibrationSamples(file('magic.npy', new Uint8Array(64)), model), /not a \.npy file \(no \\x93NUMPY magic\)$/);
    await rejects(loadCalibrationSamples(file('long.npy', npy('|u1', [1, 3, 32, 32], new Uint8Array(3073))), model), /\.npy has 1 bytes past the data of shape \(1, 3, 32, 32\) uint8$/);
  });

  it('all-NaN .npy rows, an Infinity in row 2, a float64 beyond float32 and a NaN fixed input: one line naming the file, the row and the input', async () => {
    const model = await zoo('deepjscc-r12-snr7-enc');
    const f32 = (name: string, values: Float32Array): string => {
      const p = join(tmp, name);
      writeFileSync(p, npy('<f4', [values.length / 3072, 3, 32, 32], new Uint8Array(values.buffer)));
      return p;
    };
    await rejects(
      loadCalibrationSamples(f32('all-nan.npy', new Float32Array(3 * 3072).fill(NaN)), model),
      /all-nan\.npy: row 0 of input 'image' holds NaN at flat index 0 of the row \(every value is NaN\): calibration and held-out data must be finite numbers$/,
    );
    const inf = new Float32Array(3 * 3072).fill(0.5);
    inf[2 * 3072 + 17] = Infinity;
    await rejects(loadCalibrationSamples(f32('inf.npy', inf), model), /inf\.npy: row 2 of input 'image' holds Infinity at flat index 17 of the row \(1 of 9216 values are not finite\)/);
    // a limit that stops before the bad row reads only good rows
    expect(await loadCalibrationSamples(join(tmp, 'inf.npy'), model, { limit: 2 })).toHaveLength(2);
    const big = new Float64Array(3072).fill(0.25);
    big[5] = 1e300;
    const p = join(tmp, 'f64-big.npy');
    writeFileSync(p, npy('<f8', [1, 3, 32, 32], new Uint8Array(big.buffer)));
    await rejects(loadCalibrationSamples(p, model), /f64-big\.npy: row 0 of input 'image' holds 1e\+300 at flat index 5 of the row, beyond float32's range/);
    const adaptive = await zoo('deepjscc-r12-adaptive-enc');
    await rejects(loadCalibrationSamples(CIFAR, adaptive, { fixedInputs: { snr_db: NaN } }), /^fixed input 'snr_db' holds NaN: calibration data must be finite numbers$/);
  });

  it('float64 .npy rows become float32 samples', async () => {
    const model = await zoo('deepjscc-r12-snr7-enc');
    const values = Float64Array.from({ length: 2 * 3072 }, (_, i) => (i % 97) / 97);
    const p = join(tmp, 'f64.npy');
    writeFileSync(p, npy('<f8', [2, 3, 32, 32], new Uint8Array(values.buffer)));
    const samples = await loadCalibrationSamples(p, model);
    expect(samples).toHaveLength(2);
    expect(samples[1]!.image!.data).toEqual(Float32Array.from(values.subarray(3072)));
  });
});
