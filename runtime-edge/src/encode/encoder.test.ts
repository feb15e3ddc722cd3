import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TileEncoder } from './encoder.js';
import { loadModelSet } from '@akb/jscc';

const zoo = fileURLToPath(new URL('../../../models/zoo', import.meta.url));
const f32 = (name: string): Float32Array => {
  const b = readFileSync(new URL(`../../../models/fixtures/${name}`, import.meta.url));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const power = (v: Float32Array): number => v.reduce((s, x) => s + x * x, 0);
const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('tile encoder, akb-k256', () => {
  it('reproduces the PyTorch fixture: KB entries, 16 index uses at 1 dB, 240 latent symbols', async () => {
    const set = await loadModelSet(zoo, 'akb-k256');
    const enc = await TileEncoder.create(set);
    expect(enc.tile).toBe(32);
    const images = f32('images.f32');
    const a = set.actions.findIndex((x) => x.channelUses === 256 && x.powerDb === 0);
    const out = await enc.encode({ tiles: images, count: 16, actions: new Uint8Array(16).fill(a), snrEstimateDb: 1 });
    expect(Array.from(out.entries.subarray(0, 16))).toEqual([47, 194, 166, 109, 231, 94, 101, 147, 7, 14, 254, 240, 7, 100, 127, 151]);
    expect(Array.from(out.indexUses.subarray(0, 16))).toEqual(new Array(16).fill(16));
    expect(Array.from(out.lengths.subarray(0, 16))).toEqual(new Array(16).fill(240));
    const latent = f32('akb_latent.f32');
    for (let i = 0; i < 16; i++) {
      const mine = out.values.subarray(out.offsets[i], out.offsets[i + 1]);
      expect(mine.length).toBe(480);
      expect(maxAbsDiff(mine, latent.subarray(i * 1024, i * 1024 + 480))).toBeLessThan(1e-3);
    }
    expect(out.sessionMs).toBeGreaterThan(0);
    await enc.release();
  });

  it('sends prefixes of length·10^(power/10) power; no index when it costs over half the frame or the SNR is too low', async () => {
    const set = await loadModelSet(zoo, 'akb-k256');
    const enc = await TileEncoder.create(set, { maxBatch: 5 }); // three runs of the encoder for 15 tiles
    const images = f32('images.f32');
    const actions = set.actions.map((_, i) => i); // every action once
    const out = await enc.encode({ tiles: images, count: 15, actions, snrEstimateDb: -1 });
    for (let i = 0; i < 15; i++) {
      const { channelUses, powerDb } = set.actions[i]!;
      const uses = set.kb!.indexUses(-1 + powerDb);
      const sent = uses >= 0 && uses <= channelUses / 2;
      expect(out.indexUses[i]).toBe(sent ? uses : 0);
      expect(out.entries[i]! >= 0).toBe(sent);
      expect(out.lengths[i]).toBe(channelUses - (sent ? uses : 0));
      const p = power(out.values.subarray(out.offsets[i], out.offsets[i + 1]));
      expect(Math.abs(p / (out.lengths[i]! * 10 ** (powerDb / 10)) - 1)).toBeLessThan(0.01);
    }
    // 64 uses at -1 dB - 3 dB: the index would take 37 > 32 uses, so it is not sent.
    expect(out.indexUses[0]).toBe(0);
    const chunked = out.values.slice(0, out.offsets[15]); // the next call reuses the buffers
    // At -6 dB the index code has no length at all (-1).
    const low = await enc.encode({ tiles: images, count: 1, actions: [13], snrEstimateDb: -6 });
    expect([low.entries[0], low.lengths[0]]).toEqual([-1, 512]);
    // Chunked and whole batches give the same symbols.
    const whole = await TileEncoder.create(set);
    const again = await whole.encode({ tiles: images, count: 15, actions, snrEstimateDb: -1 });
    expect(maxAbsDiff(again.values.subarray(0, again.offsets[15]), chunked)).toBeLessThan(1e-4);
    await Promise.all([enc.release(), whole.release()]);
  });
});

describe('tile encoder, Deep JSCC', () => {
  it('deepjscc-r12-snr7 reproduces the fixture latent: 256 symbols of unit power, no KB', async () => {
    const set = await loadModelSet(zoo, 'deepjscc-r12-snr7');
    const enc = await TileEncoder.create(set);
    const images = f32('images.f32');
    const out = await enc.encode({ tiles: images, count: 16, actions: new Uint8Array(16), snrEstimateDb: 7 });
    const latent = f32('deepjscc_r12_latent.f32');
    expect(maxAbsDiff(out.values.subarray(0, 16 * 512), latent)).toBeLessThan(1e-3);
    expect(Array.from(out.entries.subarray(0, 16))).toEqual(new Array(16).fill(-1));
    await enc.release();
  });

  it('deepjscc-r12-adaptive takes the SNR estimate; power 256 per tile', async () => {
    const set = await loadModelSet(zoo, 'deepjscc-r12-adaptive');
    expect(set.actions).toEqual([{ id: 0, channelUses: 256, powerDb: 0 }]);
    const enc = await TileEncoder.create(set);
    const images = f32('images.f32');
    const at = async (snr: number): Promise<Float32Array> => (await enc.encode({ tiles: images, count: 4, actions: [0, 0, 0, 0], snrEstimateDb: snr })).values.slice(0, 4 * 512);
    const lo = await at(1);
    const hi = await at(19);
    for (let i = 0; i < 4; i++) expect(Math.abs(power(hi.subarray(i * 512, (i + 1) * 512)) / 256 - 1)).toBeLessThan(0.01);
    expect(maxAbsDiff(lo, hi)).toBeGreaterThan(1e-2);
    await enc.release();
  });
});
