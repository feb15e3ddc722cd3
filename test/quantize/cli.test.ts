import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { corruptModel, ENC, imagesWithCorruptJpeg, modelThatDoesNotRun, npyBytes, POLICY, policyStatesNpy, tempDir, truncatedModel } from './fixtures.js';
import { addFeedsItself, nanFromImages, writeModel } from './hostile.js';
import { CIFAR_SAMPLES, ZOO } from './images.js';

// As users run it: the built bin in a child process (npm test builds first).
const cli = fileURLToPath(new URL('../../toolkit/dist/cli.js', import.meta.url));
const akb = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, AKB_DEBUG: '' } });

describe('akb quantize', () => {
  it('quantizes the DQN policy for a Raspberry Pi 5 and prints the report as JSON, progress as plain lines on a non-TTY stderr', () => {
    const dir = tempDir('cli-ok');
    const out = join(dir, 'policy.int8.onnx');
    const r = akb('quantize', POLICY, '--profile', 'rpi-5', '--calib', policyStatesNpy(dir, 30), '-o', out, '--json', '--latency-runs', '2', '--report', join(dir, 'report.json'));
    expect(r.stderr).toContain('akb quantize: calibrate');
    expect(r.stderr).not.toContain('\r');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { preset: { name: string; activationType: string }; outputSqnrDb: number; output: { bytes: number } };
    expect(report.preset).toMatchObject({ name: 'int8-s8s8', activationType: 'int8' });
    expect(report.outputSqnrDb).toBeGreaterThan(15);
    expect(report.output.bytes).toBe(readFileSync(out).length);
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toEqual(report);
  });

  it('prints the terminal table for a JSCC encoder, with PSNR through the channel', () => {
    const dir = tempDir('cli-table');
    const r = akb('quantize', ENC, '--profile', 'int8', '--calib', CIFAR_SAMPLES, '-o', join(dir, 'enc.onnx'), '--snr', '4,10', '--latency-runs', '2');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^output SQNR\s+\d+\.\d\d dB/m);
    expect(r.stdout).toContain('PSNR through AWGN');
    expect(r.stdout).toMatch(/^per-tensor SQNR, lowest/m);
  });

  // It refused: the AKB models' prior input comes from the source KB (jscc/kb-inputs.test.ts checks the priors).
  it('quantizes the AKB encoder and decoder from an image folder, the prior and length filled from the akb-k256 set', () => {
    const dir = tempDir('cli-akb');
    for (const role of ['enc', 'dec']) {
      const r = akb('quantize', join(ZOO, `akb-jscc-${role}`, 'model.onnx'), '--calib', CIFAR_SAMPLES, '-o', join(dir, `${role}.onnx`), '--snr', '13', '--latency-runs', '1', '--json');
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { referenceSqnrDb: number; jsccReference: { points: { floatPsnrDb: number; lossDb: number }[] } };
      expect(report.referenceSqnrDb).toBeGreaterThan(20);
      // the float pair's PSNR at 13 dB with KB priors (the card's four rates give 26.9-30.5 dB on 1,000 images)
      expect(report.jsccReference.points[0]!.floatPsnrDb).toBeGreaterThan(22);
      expect(report.jsccReference.points[0]!.lossDb).toBeLessThan(0.5);
    }
  }, 120_000);

  const bad: [string, (dir: string) => string[], RegExp][] = [
    ['a corrupt model', (dir) => [corruptModel(), '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx')], /^akb: .*model\.onnx/],
    ['a truncated model', (dir) => [truncatedModel(), '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx')], /^akb: .*model\.onnx/],
    ['a model onnxruntime cannot run', (dir) => [modelThatDoesNotRun(), '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx')], /^akb: onnxruntime cannot load/],
    ['a .npy of the wrong shape', (dir) => [POLICY, '--calib', wrongShapeNpy(dir), '-o', join(dir, 'o.onnx')], /^akb: .*wrong\.npy/],
    ['an image folder with a corrupt JPEG', (dir) => [ENC, '--calib', imagesWithCorruptJpeg(), '-o', join(dir, 'o.onnx')], /^akb: .*99999-broken\.jpg/],
    ['an unknown profile', (dir) => [ENC, '--profile', 'rpi-9', '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx')], /^akb: unknown device profile "rpi-9"/],
    ['an output folder that does not exist', () => [ENC, '--calib', CIFAR_SAMPLES, '-o', '/nonexistent-akb/o.onnx'], /^akb: cannot write \/nonexistent-akb\/o\.onnx: the folder \/nonexistent-akb does not exist$/],
    // these two gave a useless model with exit 0, and an internal error with exit 70
    ['all-NaN .npy rows', (dir) => [POLICY, '--calib', statesNpy(dir, 'nan.npy', () => NaN), '-o', join(dir, 'o.onnx')], /^akb: .*nan\.npy: row 0 of input 'state' holds NaN at flat index 0 of the row \(every value is NaN\): calibration and held-out data must be finite numbers \(fix or drop those rows\)$/],
    ['an Infinity in .npy row 3', (dir) => [POLICY, '--calib', statesNpy(dir, 'inf.npy', (i) => (i === 3 * 11 + 4 ? Infinity : 0.5)), '-o', join(dir, 'o.onnx')], /^akb: .*inf\.npy: row 3 of input 'state' holds Infinity at flat index 4 of the row \(1 of 110 values are not finite\)/],
    // the message named fixedInputs, an option of the library that the CLI has no flag for
    ['images for a model with two image inputs and --no-jscc (AKB encoder: image, prior)', (dir) => [join(ZOO, 'akb-jscc-enc', 'model.onnx'), '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx'), '--no-jscc'], /^akb: the model has several image inputs \(image, prior\): .*\(with akb quantize: --calib a folder holding one <input name>\.npy per model input, all with the same row count\)$/],
    ['a cyclic graph (its Add feeds itself)', (dir) => [writeModel('cli-cycle', addFeedsItself()), '--calib', statesNpy(dir, 's.npy', () => 0.5), '-o', join(dir, 'o.onnx')], /^akb: .*cli-cycle\.onnx: main graph has a cycle: Add node 'add' reads 'y', which it computes itself$/],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what}: one line, exit 1, no output file`, () => {
      const dir = tempDir('cli-bad');
      const r = akb('quantize', ...args(dir));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.status).toBe(1);
      expect(readdirSync(dir).filter((f) => f.endsWith('.onnx') || f.includes('.tmp'))).toEqual([]);
      expect(existsSync('/nonexistent-akb')).toBe(false);
    });
  }

  it('refuses images through a model whose Div computes 0 / 0 (NaN from finite input), naming the tensor: exit 1, no output file', () => {
    // it gave a model calibrated to [0, 0] with exit 0: onnxruntime's ReduceMin/ReduceMax returned NaN, which was skipped
    const dir = tempDir('cli-nan-act');
    const r = akb('quantize', writeModel('nan-act', nanFromImages()), '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx'));
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('akb quantize: ')); // progress lines on a non-TTY stderr
    expect(lines).toEqual([
      "akb: calibration sample 0: the model computes NaN in 'q' (output of Div node 'div') from finite inputs, then in 1 more calibrated tensor: cannot calibrate a non-finite activation (check the weights that feed it with akb inspect, or keep the node in float with --exclude)",
    ]);
    expect(r.status).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it(`exits 3 when --target-sqnr is not met (the model is written), 0 with --allow-miss`, () => {
    const dir = tempDir('cli-target');
    const calib = policyStatesNpy(dir, 20);
    const miss = akb('quantize', POLICY, '--calib', calib, '-o', join(dir, 'a.onnx'), '--target-sqnr', '200', '--latency-runs', '1');
    expect(miss.status).toBe(3);
    expect(miss.stderr).toMatch(/^akb: target NOT met: output SQNR .* target 200\.00 dB; the model was written to .*a\.onnx/m);
    expect(existsSync(join(dir, 'a.onnx'))).toBe(true);
    const allowed = akb('quantize', POLICY, '--calib', calib, '-o', join(dir, 'b.onnx'), '--target-sqnr', '200', '--allow-miss', '--latency-runs', '1');
    expect(allowed.status).toBe(0);
    expect(allowed.stderr).toMatch(/^akb: warning: target NOT met: .*\(--allow-miss: exit 0\)$/m);
  });
});

/** 10 rows of 11 policy-state values from `value(flat index)` as a .npy file. */
function statesNpy(dir: string, name: string, value: (i: number) => number): string {
  const path = join(dir, name);
  writeFileSync(path, npyBytes([10, 11], Float32Array.from({ length: 110 }, (_, i) => value(i))));
  return path;
}

function wrongShapeNpy(dir: string): string {
  const path = join(dir, 'wrong.npy');
  writeFileSync(path, npyBytes([5, 7], new Float32Array(35)));
  return path;
}
