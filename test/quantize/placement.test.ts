/**
 * `akb quantize --placement weighted-inputs` as users run it (the built CLI in a child process) on the Deep
 * JSCC decoder, calibrated from the 20 CIFAR-10 samples through the float encoder and the channel: against
 * onnxruntime's placement on the same rows, the worst PSNR loss through the channel (SNR 13 and 20 dB, QDQ
 * reference semantics) must drop, with every ConvTranspose still reading int8 inputs and int8 weights.
 * Thrown at it: --placement with fp16 (refused in one line, no file) and an unknown placement (exit 2).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../toolkit/quantize/src/onnx/io.js';
import { DEC, tempDir } from './fixtures.js';
import { CIFAR_SAMPLES } from './images.js';

const cli = fileURLToPath(new URL('../../toolkit/dist/cli.js', import.meta.url));
const akb = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, AKB_DEBUG: '', AKB_ORT_THREADS: '1' } });

interface Report {
  preset: { placement?: string };
  jsccReference: { maxLossDb: number; points: { snrDb: number; lossDb: number }[] };
  leftInFloat: { node: string; opType: string; reason: string }[];
}

describe('akb quantize --placement', () => {
  const dir = tempDir('placement');
  const quantize = (name: string, ...extra: string[]): { report: Report; path: string; stdout: string } => {
    const path = join(dir, `${name}.onnx`);
    const r = akb('quantize', DEC, '--calib', CIFAR_SAMPLES, '-o', path, '--snr', '13,20', '--latency-runs', '1', '--report', join(dir, `${name}.json`), ...extra);
    expect(r.status, r.stderr).toBe(0);
    return { report: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Report, path, stdout: r.stdout };
  };

  it('weighted-inputs loses less PSNR through the channel than onnxruntime placement, and every ConvTranspose still reads int8', () => {
    const ortPlaced = quantize('onnxruntime');
    const weighted = quantize('weighted', '--placement', 'weighted-inputs');
    expect(ortPlaced.report.preset.placement).toBe('onnxruntime');
    expect(weighted.report.preset.placement).toBe('weighted-inputs');
    expect(weighted.stdout).toMatch(/Q\/DQ on the inputs of weighted ops only/);
    expect(weighted.report.jsccReference.points.map((p) => p.snrDb)).toEqual([13, 20]);
    expect(weighted.report.jsccReference.maxLossDb).toBeLessThan(ortPlaced.report.jsccReference.maxLossDb);
    // The FiLM multiplications are fused into the epilogue; no weighted op is among the nodes left in float.
    expect(weighted.report.leftInFloat.some((n) => n.opType === 'Mul' && /weighted-inputs placement/.test(n.reason))).toBe(true);
    expect(weighted.report.leftInFloat.filter((n) => /Conv/.test(n.opType))).toEqual([]);
    const model = decodeModel(new Uint8Array(readFileSync(weighted.path)));
    const producer = (t: string) => model.graph.node.find((n) => n.output.includes(t));
    const convs = model.graph.node.filter((n) => n.opType === 'ConvTranspose');
    expect(convs.length).toBeGreaterThan(3);
    for (const c of convs) {
      expect(producer(c.input[0]!)?.opType).toBe('DequantizeLinear');
      const w = producer(c.input[1]!)!;
      expect(model.graph.initializer.find((t) => t.name === w.input[0])?.dataType).toBe(3); // INT8
    }
  }, 300_000);

  it('refuses --placement for fp16 in one line, writing nothing, and an unknown placement with exit 2', () => {
    const out = join(dir, 'fp16.onnx');
    const r = akb('quantize', DEC, '--profile', 'fp16', '-o', out, '--no-jscc', '--placement', 'weighted-inputs');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^akb: --placement works with int8 and trt, not fp16/);
    expect(existsSync(out)).toBe(false);
    const bad = akb('quantize', DEC, '-o', out, '--placement', 'everywhere');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/placement/);
    expect(existsSync(out)).toBe(false);
  });
});
