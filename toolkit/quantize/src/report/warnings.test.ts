import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLICY } from '../../../../test/quantize/fixtures.js';
import { corruptWeight } from '../../../../test/quantize/hostile.js';
import { ZOO } from '../../../../test/quantize/images.js';
import { readModel } from '../onnx/io.js';
import { absurdRanges, kernelGap, suspiciousWeights } from './warnings.js';

describe('suspiciousWeights', () => {
  it('names a weight with a flipped exponent bit (its smallest value times 2^128) among weights that peak near 1', () => {
    const { model, tensor, corrupted } = corruptWeight(POLICY);
    expect(Math.abs(corrupted)).toBeGreaterThan(1e30);
    const w = suspiciousWeights(model);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ kind: 'weight', tensor });
    expect(w[0]!.message).toMatch(new RegExp(`^weight '${tensor}' reaches \\|w\\| = \\d\\.\\d\\de\\+\\d+ while the model's other weights peak at \\d\\.\\d+ \\(median of \\d+\\): a flipped bit or a corrupt export\\?`));
  });

  it('names weights holding NaN or an infinity', () => {
    const nan = corruptWeight(POLICY, { value: NaN, index: 3 });
    expect(suspiciousWeights(nan.model).map((w) => w.message)).toEqual([`weight '${nan.tensor}' holds 1 NaN value (of 1408): the model computes garbage with it, and it cannot be quantized`]);
    const inf = corruptWeight(POLICY, { value: -Infinity });
    expect(suspiciousWeights(inf.model)[0]!.message).toMatch(/holds 1 infinite value \(of 1408\)/);
  });

  it('finds nothing to say about the zoo models (float initializers up to 1.0e3)', async () => {
    for (const name of readdirSync(ZOO)) {
      const path = join(ZOO, name, 'model.onnx');
      const model = await readModel(path).catch(() => undefined);
      if (model) expect(suspiciousWeights(model), name).toEqual([]);
    }
  });
});

describe('absurdRanges', () => {
  it('reports ranges beyond ±1e6, largest first, and nothing up to it', () => {
    const ranges = new Map([
      ['ok', { min: -1e6, max: 1e6 }],
      ['big', { min: -2e6, max: 0 }],
      ['huge', { min: 0, max: 3e19 }],
    ]);
    const w = absurdRanges(ranges);
    expect(w.map((x) => x.tensor)).toEqual(['huge', 'big']);
    expect(w[0]!.message).toBe("activation 'huge' is calibrated to [0.00, 3.00e+19], beyond ±1.00e+6: one int8 step is at least 2.36e+17, so its ordinary values quantize to zero (check the weights upstream)");
  });
});

describe('kernelGap', () => {
  const u8s8 = { activationType: 'uint8', weightType: 'int8', reduceRange: false, arch: 'x64' } as const;

  it('names the saturation and --reduce-range for U8S8 on x64 more than 3 dB below the reference', () => {
    const w = kernelGap({ ...u8s8, kernelsDb: 14.9, referenceDb: 22.4 });
    expect(w).toEqual([{ kind: 'kernels', tensor: '', message: expect.stringMatching(/^output SQNR with onnxruntime's kernels on this CPU is 14\.9 dB, 7\.5 dB below the QDQ reference semantics \(22\.4 dB\): x64 CPUs without VNNI saturate .* quantize with --reduce-range/) as unknown }]);
  });

  it('says nothing at 3 dB or less, when the kernels do better, or when the reference is exact', () => {
    expect(kernelGap({ ...u8s8, kernelsDb: 19.4, referenceDb: 22.4 })).toEqual([]);
    expect(kernelGap({ ...u8s8, kernelsDb: 25, referenceDb: 22.4 })).toEqual([]);
    expect(kernelGap({ ...u8s8, kernelsDb: 40, referenceDb: Infinity })).toEqual([]);
    expect(kernelGap({ ...u8s8, kernelsDb: NaN, referenceDb: 22.4 })).toEqual([]);
  });

  it('gives no --reduce-range advice where it does not apply: ARM, S8S8, or 7-bit weights already', () => {
    for (const g of [{ ...u8s8, arch: 'arm64' }, { ...u8s8, activationType: 'int8' as const }, { ...u8s8, reduceRange: true }]) {
      const [w] = kernelGap({ ...g, kernelsDb: 10, referenceDb: 20 });
      expect(w?.message).toMatch(/10\.0 dB below the QDQ reference semantics \(20\.0 dB\): the model will lose more on this CPU/);
      expect(w?.message).not.toMatch(/reduce-range/);
    }
  });
});
