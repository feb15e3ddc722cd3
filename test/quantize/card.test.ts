/**
 * `akb quantize` writes a model card beside its output, so the quantized model drops into a model set.
 * Run as users run it (the built CLI in a child process) on a reference encoder, then loaded through
 * jscc's model store and model-set loader, which check the card's schema, size and SHA-256. Thrown at it:
 * an output in the input's own folder (its card.json must survive), and an input without a card (no
 * card is invented: the report says why).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel, loadModelSet } from '@akb/jscc';
import { DEC, ENC, tempDir } from './fixtures.js';
import { CIFAR_SAMPLES } from './images.js';

const cli = fileURLToPath(new URL('../../toolkit/dist/cli.js', import.meta.url));
const akb = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, AKB_DEBUG: '' } });
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('akb quantize writes a model card', () => {
  it('for the Pi 5: size, SHA-256, precision and the measured PSNR, and the folder loads as a model of a set', async () => {
    const zoo = join(tempDir('card-zoo'), 'zoo');
    const out = join(zoo, 'enc-rpi5', 'model.onnx');
    mkdirSync(dirname(out), { recursive: true });
    const r = akb('quantize', ENC, '--profile', 'rpi-5', '--calib', CIFAR_SAMPLES, '-o', out, '--snr', '4,10', '--latency-runs', '2', '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { card: { path: string }; jsccReference: { points: { snrDb: number; quantizedPsnrDb: number }[] } };
    expect(report.card.path).toBe(join(zoo, 'enc-rpi5', 'card.json'));
    const source = JSON.parse(readFileSync(join(dirname(ENC), 'card.json'), 'utf8')) as { name: string; version: string; role: string; inputs: unknown };
    const model = await loadModel(dirname(out));
    expect(model.card).toMatchObject({ name: source.name, role: source.role, inputs: source.inputs, quantization: 'int8-qdq', derivedFrom: sha(ENC), version: `${source.version}+int8-qdq` });
    expect(model.card.onnx).toMatchObject({ file: 'model.onnx', sizeBytes: readFileSync(out).length, sha256: sha(out) });
    // Chosen for a device: the QDQ reference semantics, which ARM boards reproduce, give the quality.
    expect(model.card.quality.map((q) => [q.snr, q.value])).toEqual(report.jsccReference.points.map((p) => [p.snrDb, Math.round(p.quantizedPsnrDb * 1e4) / 1e4]));
    expect(model.card.quality.every((q) => q.metric === 'psnr' && q.channel === 'awgn' && q.value > 15)).toBe(true);

    // A set naming the quantized encoder and the float decoder loads.
    mkdirSync(join(zoo, 'dec'));
    copyFileSync(DEC, join(zoo, 'dec', 'model.onnx'));
    copyFileSync(join(dirname(DEC), 'card.json'), join(zoo, 'dec', 'card.json'));
    const setPath = join(zoo, 'quantized-set.json');
    writeFileSync(setPath, JSON.stringify({ name: 'quantized-set', kind: 'deepjscc', encoder: 'enc-rpi5', decoder: 'dec' }));
    const set = await loadModelSet(zoo, setPath);
    expect(set.encoder.card.quantization).toBe('int8-qdq');
    expect(set.maxSymbols).toBe(256);
  });

  it("keeps the input's card when the output shares its folder, and invents none for an input without a card", () => {
    // Thrown at it: -o into the folder of the input (whose card.json is the source's).
    const dir = tempDir('card-same');
    copyFileSync(ENC, join(dir, 'model.onnx'));
    copyFileSync(join(dirname(ENC), 'card.json'), join(dir, 'card.json'));
    const before = readFileSync(join(dir, 'card.json'), 'utf8');
    const r = akb('quantize', join(dir, 'model.onnx'), '--profile', 'weight-only', '--calib', CIFAR_SAMPLES, '-o', join(dir, 'enc.wo.onnx'), '--snr', '10', '--latency-runs', '2', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'card.json'), 'utf8')).toBe(before);
    const card = JSON.parse(readFileSync(join(dir, 'enc.wo.card.json'), 'utf8')) as { onnx: { file: string; sha256: string }; quantization: string };
    expect(card.onnx).toMatchObject({ file: 'enc.wo.onnx', sha256: sha(join(dir, 'enc.wo.onnx')) });
    expect(card.quantization).toBe('fp32'); // weight-only: int8 weights, fp32 compute

    // Thrown at it: a model with no card.json beside it.
    const bare = tempDir('card-bare');
    copyFileSync(ENC, join(bare, 'model.onnx'));
    mkdirSync(join(bare, 'out'));
    const r3 = akb('quantize', join(bare, 'model.onnx'), '--profile', 'int8', '--calib', CIFAR_SAMPLES, '-o', join(bare, 'out', 'model.onnx'), '--latency-runs', '2', '--json');
    expect(r3.status, r3.stderr).toBe(0);
    expect((JSON.parse(r3.stdout) as { card: { skipped: string } }).card.skipped).toMatch(/no card\.json beside .*model\.onnx/);
    expect(existsSync(join(bare, 'out', 'card.json'))).toBe(false);
  });
});
