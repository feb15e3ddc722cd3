import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLICY } from '../../../../test/quantize/fixtures.js';
import { corruptWeight } from '../../../../test/quantize/hostile.js';
import { ZOO } from '../../../../test/quantize/images.js';
import { readModel } from '../onnx/io.js';
import { absurdRanges, suspiciousWeights } from './warnings.js';

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
