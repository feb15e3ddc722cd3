/**
 * The reader refuses models that break ONNX's rules in ways the decoder cannot see field by field
 * (validate.ts): hostile models built with the package's own writer (test/quantize/hostile.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  addFeedsItself,
  constantShortOfItsDims,
  cycleInIfBranch,
  ifReadsItsOwnOutput,
  inputDimsPast2p53,
  threeNodeCycle,
  trillionParameterInitializer,
  valueInfoPastLimit,
  writeModel,
} from '../../../../test/quantize/hostile.js';
import { ENC, POLICY } from '../../../../test/quantize/fixtures.js';
import { OnnxFormatError } from './errors.js';
import { decodeModel, readModel } from './io.js';
import type { Model } from './types.js';
import { formatCount, MAX_TENSOR_ELEMENTS, validateModel } from './validate.js';

async function refusal(m: Model, name: string): Promise<OnnxFormatError> {
  const path = writeModel(name, m);
  const e = await readModel(path).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'readModel should refuse it').toBeInstanceOf(OnnxFormatError);
  const err = e as OnnxFormatError;
  expect(err.message).not.toContain('\n');
  expect(err.message.startsWith(`${path}: `)).toBe(true);
  expect(err.exitCode).toBe(1);
  return err;
}

describe('readModel refuses a graph with a cycle, in one line naming it', () => {
  it('a graph whose Add feeds itself', async () => {
    const e = await refusal(addFeedsItself(), 'add-self');
    expect(e.message).toMatch(/: main graph has a cycle: Add node 'add' reads 'y', which it computes itself$/);
  });

  it('a graph whose Add -> Relu -> Neg -> Abs loop back into the Add', async () => {
    const e = await refusal(threeNodeCycle(), 'loop4');
    expect(e.message).toMatch(/: main graph has a cycle: 'add' -> 'relu' -> 'neg' -> 'abs' -> 'add' \(each node reads the one before it, so none can run first\)$/);
  });

  it("a cycle inside an If's then-branch, and an If whose branch reads the If's own output", async () => {
    expect((await refusal(cycleInIfBranch(), 'if-cycle')).message).toMatch(/: subgraph 'then_branch' of If node 'if' has a cycle: 'n\d' -> 'n\d' -> 'n\d'/);
    expect((await refusal(ifReadsItsOwnOutput(), 'if-self')).message).toMatch(/: main graph has a cycle: If node 'if' reads 'y', which it computes itself$/);
  });
});

describe('readModel refuses tensors whose dims are absurd for their data or for any machine', () => {
  it('a model whose initializer claims 1.1 T elements (4.4 TB) over 16 bytes', async () => {
    const e = await refusal(trillionParameterInitializer(), 'trillion');
    expect(e.message).toMatch(/: initializer 'w' declares FLOAT \[1048576, 1048576\] \(1\.1 T elements, 4\.4 TB\) but holds 16 bytes of raw data$/);
  });

  it('a Constant whose value declares a million floats and holds three', async () => {
    const e = await refusal(constantShortOfItsDims(), 'short-constant');
    expect(e.message).toMatch(/: the tensor of attribute 'value' of Constant node 'const' declares FLOAT \[1000, 1000\] \(1\.0 M elements, 4\.0 MB\) but holds 3 values in float_data$/);
  });

  it('an input whose dims multiply past 2^53, and a value_info past the 2^40 limit', async () => {
    expect((await refusal(inputDimsPast2p53(), 'dims-2p90')).message).toMatch(/: 'x' \(main graph\) declares dims \[1073741824, 1073741824, 1073741824\]: 1\.2e\+27 elements, past the limit of 1\.1 T \(2\^40\): a corrupt or hostile shape$/);
    expect((await refusal(valueInfoPastLimit(), 'dims-2p41')).message).toMatch(/: 'r' \(main graph\) declares dims \[1048576, 1048576, 2\]: 2\.2 T elements, past the limit/);
  });

  it('takes the zoo models and the limit itself', async () => {
    for (const path of [ENC, POLICY]) expect(() => validateModel(decodeModel(readFileSync(path)))).not.toThrow();
    await expect(readModel(ENC)).resolves.toBeDefined();
    expect(MAX_TENSOR_ELEMENTS).toBe(2 ** 40);
    expect(formatCount(MAX_TENSOR_ELEMENTS)).toBe('1.1 T');
    expect(() => validateModel(valueInfoPastLimit())).toThrow(OnnxFormatError);
    // validate: false reads the model as it is (to repair it, say)
    await expect(readModel(writeModel('loop-raw', threeNodeCycle()), { validate: false })).resolves.toBeDefined();
  });
});
