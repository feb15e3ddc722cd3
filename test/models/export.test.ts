/**
 * The exported reference models are proven in TypeScript: the ONNX encoder and decoder run through
 * onnxruntime-node with the channel realisation PyTorch used (noise read from committed files) and must
 * reproduce PyTorch's PSNR within the fixture's tolerance (0.05 dB). Fixtures: models/fixtures/README.md.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ortNodeBackend, psnr, type InferenceSession, type Tensor } from '@akb/jscc';

const root = fileURLToPath(new URL('../../models/', import.meta.url));

interface ArrayRef { file: string; shape: number[] }
interface Fixture {
  name: string;
  encoder: string;
  decoder: string;
  snr_db: number;
  images: ArrayRef | string;
  noise: ArrayRef;
  prior?: ArrayRef;
  length?: number;
  psnr_db_mean: number;
  tolerance_db: number;
}

async function f32(file: string): Promise<Float32Array> {
  const b = await readFile(`${root}fixtures/${file}`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

async function session(name: string): Promise<InferenceSession> {
  return ortNodeBackend('onnxruntime-node-cpu').createSession(await readFile(`${root}zoo/${name}/model.onnx`));
}

function meanPsnr(a: Float32Array, b: Float32Array, n: number): number {
  const per = a.length / n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += psnr(a.subarray(i * per, (i + 1) * per), b.subarray(i * per, (i + 1) * per));
  return sum / n;
}

const { fixtures } = JSON.parse(await readFile(`${root}fixtures/fixtures.json`, 'utf8')) as { fixtures: Fixture[] };

describe('reference models exported to ONNX reproduce PyTorch in onnxruntime-node', () => {
  for (const fx of fixtures) {
    it(`${fx.name}: mean PSNR within ${fx.tolerance_db} dB of PyTorch's ${fx.psnr_db_mean} dB`, async () => {
      const images = await f32(typeof fx.images === 'string' ? fx.images : fx.images.file);
      const noise = await f32(fx.noise.file);
      const n = fx.noise.shape[0]!;
      const imageDims = [n, 3, 32, 32];
      const conditioning: Record<string, Tensor> = {};
      if (fx.prior) {
        conditioning.prior = { data: await f32(fx.prior.file), dims: imageDims };
        conditioning.snr_db = { data: new Float32Array(n).fill(fx.snr_db), dims: [n, 1] };
        conditioning.length = { data: new Float32Array(n).fill(fx.length ?? 0), dims: [n, 1] };
      }
      const enc = await session(fx.encoder);
      const dec = await session(fx.decoder);
      try {
        const inputsOf = (s: InferenceSession): Record<string, Tensor> =>
          Object.fromEntries(s.inputNames.filter((k) => k in conditioning).map((k) => [k, conditioning[k]!]));
        const { latent } = await enc.run({ image: { data: images, dims: imageDims }, ...inputsOf(enc) });
        expect(latent?.dims).toEqual(fx.noise.shape);
        const received = latent!.data.map((v, i) => v + noise[i]!);
        const recvName = dec.inputNames.find((k) => !(k in conditioning))!;
        const out = await dec.run({ [recvName]: { data: received, dims: fx.noise.shape }, ...inputsOf(dec) });
        const recon = out[dec.outputNames[0]!]!.data;
        const measured = meanPsnr(images, recon, n);
        if (process.env.AKB_VERBOSE) console.log(`${fx.name}: TypeScript ${measured.toFixed(4)} dB, PyTorch ${fx.psnr_db_mean} dB`);
        expect(Math.abs(measured - fx.psnr_db_mean)).toBeLessThanOrEqual(fx.tolerance_db);
      } finally {
        await enc.release();
        await dec.release();
      }
    });
  }
});
