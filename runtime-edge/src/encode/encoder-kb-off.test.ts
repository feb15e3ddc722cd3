/**
 * The source KB withheld (sourceKb: 'off'): no entry, no index uses, the KB's global mean as the prior and
 * every channel use latent, which is how models/eval/akb_eval.py evaluates the same network without its KB
 * (K = 1: prior = gmean at both ends, L = budget).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TileEncoder } from './encoder.js';
import { defaultBackends, loadModelSet } from '@akb/jscc';

const zoo = fileURLToPath(new URL('../../../models/zoo', import.meta.url));
const images = ((): Float32Array => {
  const b = readFileSync(new URL('../../../models/fixtures/images.f32', import.meta.url));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
})();
const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('tile encoder, akb-k256 with its source KB withheld', () => {
  it('sends no entry and no index: all 256 uses latent, encoded with the global-mean prior', async () => {
    const set = await loadModelSet(zoo, 'akb-k256');
    const enc = await TileEncoder.create(set, { sourceKb: 'off' });
    expect(enc.sourceKb).toBe('off');
    expect(enc.backends.embedder).toBeUndefined(); // no embedder session is made
    const a = set.actions.findIndex((x) => x.channelUses === 256 && x.powerDb === 0);
    const out = await enc.encode({ tiles: images, count: 16, actions: new Uint8Array(16).fill(a), snrEstimateDb: 1 });
    expect(Array.from(out.entries.subarray(0, 16))).toEqual(new Array(16).fill(-1));
    expect(Array.from(out.indexUses.subarray(0, 16))).toEqual(new Array(16).fill(0));
    expect(Array.from(out.lengths.subarray(0, 16))).toEqual(new Array(16).fill(256));
    expect(out.embedMs).toBe(0);

    // The same ONNX encoder run by hand on (image, global mean, 1 dB, 256) gives the same symbols.
    const session = await defaultBackends().createSession(set.encoder.bytes, ['onnxruntime-node-cpu']);
    const prior = new Float32Array(16 * 3072);
    for (let i = 0; i < 16; i++) prior.set(set.kb!.globalMean, i * 3072);
    const r = await session.run({
      image: { data: images, dims: [16, 3, 32, 32] },
      prior: { data: prior, dims: [16, 3, 32, 32] },
      snr_db: { data: new Float32Array(16).fill(1), dims: [16, 1] },
      length: { data: new Float32Array(16).fill(256), dims: [16, 1] },
    });
    const latent = Object.values(r)[0]!.data;
    for (let i = 0; i < 16; i++) {
      const mine = out.values.subarray(out.offsets[i], out.offsets[i + 1]);
      expect(mine.length).toBe(512);
      expect(maxAbsDiff(mine, latent.subarray(i * 1024, i * 1024 + 512))).toBeLessThan(1e-5);
    }
    await session.release();

    // With the KB on, the same tiles at the same SNR spend 16 uses on the index and send other symbols.
    const on = await TileEncoder.create(set);
    const withKb = await on.encode({ tiles: images, count: 16, actions: new Uint8Array(16).fill(a), snrEstimateDb: 1 });
    expect(withKb.indexUses[0]).toBe(16);
    expect(withKb.lengths[0]).toBe(240);
    expect(maxAbsDiff(withKb.values.subarray(0, 480), out.values.subarray(0, 480))).toBeGreaterThan(0.01);
    await Promise.all([enc.release(), on.release()]);
  });

  it('refuses sourceKb off for a set without a source KB, and a value other than on/off', async () => {
    const deep = await loadModelSet(zoo, 'deepjscc-r12-snr7');
    const refused = TileEncoder.create(deep, { sourceKb: 'off' });
    await expect(refused).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(refused).rejects.toThrow(/deepjscc-r12-snr7 has no source KB to withhold/);
    const akb = await loadModelSet(zoo, 'akb-k256');
    // What a plan or a config file could carry: a string that is neither.
    const odd = TileEncoder.create(akb, { sourceKb: 'none' as 'off' });
    await expect(odd).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(odd).rejects.toThrow(/sourceKb must be "on" or "off", not "none"/);
  });
});
