import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { POLICY, policyStatesNpy, tempDir } from '../../../test/quantize/fixtures.js';
import type { Model, QuantizeReport } from '@akb/quantize';
import { addFeedsItself, corruptWeight, ifReadsItsOwnOutput, trillionParameterInitializer, valueInfoPastLimit, writeModel } from '../../../test/quantize/hostile.js';
import type { CliContext } from './define.js';
import { EXIT_TARGET_NOT_MET, quantizeCommand } from './quantize.js';

/** Runs `akb quantize ...` through yargs and the command's handler, capturing what it prints. */
async function akbQuantize(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, exitCode: 0 };
  await yargs(['quantize', ...args]).strict().command(quantizeCommand(ctx)).parseAsync();
  return { code: ctx.exitCode, out, err };
}

describe('akb quantize refuses hostile models in one line, exit 1, no output file', () => {
  const hostile: [string, () => Model, RegExp][] = [
    ['a graph whose Add feeds itself', addFeedsItself, /main graph has a cycle: Add node 'add' reads 'y', which it computes itself$/],
    ["an If whose branch reads the If's own output", ifReadsItsOwnOutput, /main graph has a cycle: If node 'if' reads 'y'/],
    ['a model whose initializer claims 1.1 T elements', trillionParameterInitializer, /initializer 'w' declares FLOAT \[1048576, 1048576\] \(1\.1 T elements, 4\.4 TB\) but holds 16 bytes/],
    ['a value_info of 2^41 elements', valueInfoPastLimit, /'r' \(main graph\) declares dims \[1048576, 1048576, 2\]: 2\.2 T elements, past the limit/],
  ];
  for (const [what, make, message] of hostile) {
    it(what, async () => {
      const dir = tempDir('cmd-hostile');
      const r = await akbQuantize(writeModel('q', make()), '--calib', policyStatesNpy(dir, 4), '-o', join(dir, 'out.onnx'));
      expect(r.code).toBe(1);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^akb: .*q\.onnx: /);
      expect(r.err[0]).toMatch(message);
      expect(readdirSync(dir)).toEqual(['states.npy']);
    });
  }
});

describe('akb quantize warns about suspicious numbers', () => {
  it('a policy with one weight bit flipped (its smallest weight times 2^128, ~1e34): one stderr line per suspicious weight and activation, listed in the JSON report, exit 0', async () => {
    const dir = tempDir('cmd-flip');
    const { model, tensor } = corruptWeight(POLICY);
    const r = await akbQuantize(writeModel('flipped', model), '--calib', policyStatesNpy(dir, 20), '-o', join(dir, 'out.onnx'), '--json', '--latency-runs', '1');
    expect(r.code).toBe(0);
    expect(r.err[0]).toMatch(new RegExp(`^akb: warning: weight '${tensor.replace('.', '\\.')}' reaches \\|w\\| = \\d\\.\\d\\de\\+3\\d while the model's other weights peak at`));
    expect(r.err.length).toBeGreaterThan(1);
    for (const line of r.err.slice(1)) expect(line).toMatch(/^akb: warning: activation '.*' is calibrated to \[.*\], beyond ±1\.00e\+6: one int8 step is at least \d\.\d\de\+\d\d/);
    const report = JSON.parse(r.out.join('\n')) as QuantizeReport;
    expect(report.warnings.map((w) => `akb: warning: ${w.message}`)).toEqual(r.err);
    expect(report.warnings[0]).toMatchObject({ kind: 'weight', tensor });
    expect(report.warnings.slice(1).every((w) => w.kind === 'activation')).toBe(true);
  });

  it('a policy with a NaN weight: warned, then one error naming the first NaN activation, exit 1, no output file', async () => {
    const dir = tempDir('cmd-nan');
    const { model, tensor } = corruptWeight(POLICY, { value: NaN, index: 5 });
    const r = await akbQuantize(writeModel('nan', model), '--calib', policyStatesNpy(dir, 20), '-o', join(dir, 'out.onnx'));
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(2);
    expect(r.err[0]).toBe(`akb: warning: weight '${tensor}' holds 1 NaN value (of 1408): the model computes garbage with it, and it cannot be quantized`);
    expect(r.err[1]).toMatch(/^akb: calibration sample 0: the model computes NaN in '.*' \(output of \w+ node '.*'\) from finite inputs.*: cannot calibrate a non-finite activation \(check the weights that feed it/);
    expect(readdirSync(dir)).toEqual(['states.npy']);
  });
});

describe('akb quantize with an accuracy target', () => {
  // The DQN policy keeps int8 weights on the nodes the search keeps in float, so 200 dB of output SQNR
  // cannot be reached even with every node kept: the target is missed.
  it(`exits ${EXIT_TARGET_NOT_MET} (not 0) when --target-sqnr 200 is not met, still writing the model and printing the report`, async () => {
    const dir = tempDir('cmd-miss');
    const output = join(dir, 'p.onnx');
    const r = await akbQuantize(POLICY, '--calib', policyStatesNpy(dir, 20), '-o', output, '--target-sqnr', '200', '--latency-runs', '1');
    expect(EXIT_TARGET_NOT_MET).toBe(3);
    expect(r.code).toBe(EXIT_TARGET_NOT_MET);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^akb: target NOT met: output SQNR \d+\.\d\d dB with (\d+) of \1 nodes kept in float, target 200\.00 dB; the model was written to .*p\.onnx \(relax the target, or pass --allow-miss to accept it with exit 0\)$/);
    expect(r.out.join('\n')).toMatch(/target 200\.00 dB NOT met/);
    expect(existsSync(output)).toBe(true);
  });

  it('exits 0 with the warning on stderr when --allow-miss is given, and 0 without a word when the target is met', async () => {
    const dir = tempDir('cmd-allow');
    const calib = policyStatesNpy(dir, 20);
    const missed = await akbQuantize(POLICY, '--calib', calib, '-o', join(dir, 'a.onnx'), '--target-sqnr', '200', '--allow-miss', '--latency-runs', '1', '--json');
    expect(missed.code).toBe(0);
    expect(missed.err).toHaveLength(1);
    expect(missed.err[0]).toMatch(/^akb: warning: target NOT met: .* \(--allow-miss: exit 0\)$/);
    expect((JSON.parse(missed.out.join('\n')) as { sensitivity: { met: boolean } }).sensitivity.met).toBe(false);
    const met = await akbQuantize(POLICY, '--calib', calib, '-o', join(dir, 'b.onnx'), '--target-sqnr', '10', '--latency-runs', '1');
    expect(met.code).toBe(0);
    expect(met.err).toEqual([]);
  });

  it('documents the exit codes in --help', async () => {
    const out: string[] = [];
    const ctx: CliContext = { io: { out: (l) => out.push(l), err: () => undefined }, exitCode: 0 };
    const help = await yargs(['quantize', '--help']).wrap(null).command(quantizeCommand(ctx)).exitProcess(false).getHelp();
    expect(help).toContain('--allow-miss');
    expect(help).toMatch(/Exit codes: 0 done; 1 an error .*; 2 bad arguments; 3 a --target-sqnr or --target-psnr-loss target was not met \(the best model the search found is still written/);
  });
});
