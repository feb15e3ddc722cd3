import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { corruptModel, ENC, imagesWithCorruptJpeg, modelThatDoesNotRun, npyBytes, POLICY, policyStatesNpy, tempDir, truncatedModel } from './fixtures.js';
import { CIFAR_SAMPLES } from './images.js';

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

  const bad: [string, (dir: string) => string[], RegExp][] = [
    ['a corrupt model', (dir) => [corruptModel(), '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx')], /^akb: .*model\.onnx/],
    ['a truncated model', (dir) => [truncatedModel(), '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx')], /^akb: .*model\.onnx/],
    ['a model onnxruntime cannot run', (dir) => [modelThatDoesNotRun(), '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx')], /^akb: onnxruntime cannot load/],
    ['a .npy of the wrong shape', (dir) => [POLICY, '--calib', wrongShapeNpy(dir), '-o', join(dir, 'o.onnx')], /^akb: .*wrong\.npy/],
    ['an image folder with a corrupt JPEG', (dir) => [ENC, '--calib', imagesWithCorruptJpeg(), '-o', join(dir, 'o.onnx')], /^akb: .*99999-broken\.jpg/],
    ['an unknown profile', (dir) => [ENC, '--profile', 'rpi-9', '--calib', CIFAR_SAMPLES, '-o', join(dir, 'o.onnx')], /^akb: unknown device profile "rpi-9"/],
    ['an output folder that does not exist', () => [ENC, '--calib', CIFAR_SAMPLES, '-o', '/nonexistent-akb/o.onnx'], /^akb: cannot write \/nonexistent-akb\/o\.onnx: the folder \/nonexistent-akb does not exist$/],
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
});

function wrongShapeNpy(dir: string): string {
  const path = join(dir, 'wrong.npy');
  writeFileSync(path, npyBytes([5, 7], new Float32Array(35)));
  return path;
}
