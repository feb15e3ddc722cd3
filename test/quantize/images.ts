/**
 * Test helper: the CIFAR-10 sample JPEGs of models/samples as one-row
 * samples with an `image` input, decoded with jpeg-js, so the JSCC tests run without /work/shared.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import * as ort from 'onnxruntime-node';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const ZOO = join(REPO, 'models', 'zoo');
export const CIFAR_SAMPLES = join(REPO, 'models', 'samples', 'cifar10-test');

/** The sample images as [1, 3, 32, 32] float tensors in [0, 1], in file-name order. */
export function cifarSamples(limit = Infinity): Record<string, ort.Tensor>[] {
  const files = readdirSync(CIFAR_SAMPLES).filter((f) => f.endsWith('.jpg')).sort().slice(0, limit);
  return files.map((f) => {
    const { width, height, data } = jpeg.decode(readFileSync(join(CIFAR_SAMPLES, f)), { useTArray: true });
    const planar = new Float32Array(3 * width * height);
    for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) planar[c * width * height + i] = data[4 * i + c]! / 255;
    return { image: new ort.Tensor('float32', planar, [1, 3, height, width]) };
  });
}
