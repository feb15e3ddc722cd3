/**
 * `akb package --quantize --calib`: the edge's image models quantized for the profile (rpi-5: int8 QDQ
 * S8S8) with the card @akb/quantize writes, and the bundle's own edge loading them. Packaged through the
 * CLI (--no-node), unpacked with tar, then the slot's bundled akb-edge run with this machine's Node on
 * the WASM backend (the slot's onnxruntime-node is arm64) in its health-check mode against an embedded
 * broker (unpacked with tar, so not an installed slot: the probe image is named): it must load the quantized encoder (whose size and SHA-256 the edge checks against the card)
 * and encode the probe image. Thrown at it: --quantize without --calib, and a --calib that is a file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelCard } from '@akb/protocol';
import { startAedes, type AedesHandle } from '../support/index.js';
import { runNode } from '../support/run.js';
import { oneLine, root, runAkb, unpack, workDir } from './helpers.js';

const CALIB = join(root, 'models/samples/cifar10-test');
let broker: AedesHandle;
beforeAll(async () => {
  broker = await startAedes();
});
afterAll(async () => {
  await broker?.close();
});

describe('akb package --quantize', () => {
  it('quantizes the encoder for the Pi 5 and the bundled edge runs it', async () => {
    const { dir, key } = await workDir('package-quantize');
    const out = join(dir, 'q.akb');
    const r = runAkb(['package', '--profile', 'rpi-5', '--set', 'deepjscc-r12-snr10', '--key', key, '-o', out, '--no-node', '--quantize', '--calib', CALIB, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const { slot } = await unpack(out, join(dir, 'unpacked'));
    const enc = join(slot, 'models/zoo/deepjscc-r12-snr10-enc');
    const card = JSON.parse(readFileSync(join(enc, 'card.json'), 'utf8')) as ModelCard;
    const source = JSON.parse(readFileSync(join(root, 'models/zoo/deepjscc-r12-snr10-enc/card.json'), 'utf8')) as ModelCard;
    const bytes = readFileSync(join(enc, card.onnx.file));
    expect(card).toMatchObject({ quantization: 'int8-qdq', derivedFrom: source.onnx.sha256 });
    expect(card.onnx.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(bytes.length).toBeLessThan(source.onnx.sizeBytes / 2);
    // The decoder runs in the cloud: carried as it was.
    const dec = JSON.parse(readFileSync(join(slot, 'models/zoo/deepjscc-r12-snr10-dec/card.json'), 'utf8')) as ModelCard;
    expect(dec.quantization).toBeUndefined();

    const env = {
      ...process.env,
      AKB_PROFILE: join(slot, 'profile.json'),
      AKB_MODELS: join(slot, 'models/zoo'),
      AKB_SET: join(slot, 'models/sets/deepjscc-r12-snr10.json'),
    };
    const probe = await runNode([join(slot, 'app/akb-edge.mjs'), '--probe', join(slot, 'probe/probe.png'), '--device', 'quantized-probe', '--broker', broker.url, '--backends', 'onnxruntime-web-wasm'], { env });
    expect(probe.code, probe.stderr).toBe(0);
    const line = JSON.parse(probe.stdout.trim().split('\n').at(-1)!) as { ok: boolean; backend: string; symbols: number; set: string };
    expect(line).toMatchObject({ ok: true, backend: 'onnxruntime-web-wasm', symbols: 256, set: 'deepjscc-r12-snr10' });
  }, 240_000);

  it('refuses --quantize without --calib, and a --calib that is not a folder, with one line', async () => {
    const { dir, key } = await workDir('package-quantize-bad');
    // Thrown at it: --quantize alone.
    const none = runAkb(['package', '--profile', 'rpi-5', '--set', 'deepjscc-r12-snr10', '--key', key, '-o', join(dir, 'a.akb'), '--no-node', '--quantize']);
    expect(none.status).not.toBe(0);
    expect(oneLine(none)).toMatch(/--quantize needs --calib/);
    // Thrown at it: a file given as the calibration folder.
    const file = runAkb(['package', '--profile', 'rpi-5', '--set', 'deepjscc-r12-snr10', '--key', key, '-o', join(dir, 'b.akb'), '--no-node', '--quantize', '--calib', key]);
    expect(file.status).not.toBe(0);
    expect(oneLine(file)).toMatch(/is not a folder/);
  });
});
