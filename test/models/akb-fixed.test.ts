/**
 * The fixed-rate AKB-JSCC set (issue 15) in TypeScript: `akb-fixed-k1024` and its twin `akb-fixed-nokb` load
 * through loadModelSet; the edge's TileEncoder picks the KB entry by the Python rule (least pixel error over
 * priors.u8, models/train/fixed_kb.py) and spends the index uses Python does (the committed table at the
 * transmitter's SNR); encode → AWGN → decode of the export fixture `akb-fixed-k1024-awgn1` reproduces
 * PyTorch's PSNR within its tolerance (0.05 dB). Hostile KB snapshots and set files are refused with typed
 * errors, and an entry outside the KB is refused by `prior()`.
 */
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kbVersionOf } from '@akb/protocol';
import { TileEncoder } from '@akb/edge';
import { defaultBackends, loadModelSet, loadSourceKb, psnr, type ModelSet } from '@akb/jscc';

const models = fileURLToPath(new URL('../../models/', import.meta.url));
const zoo = join(models, 'zoo');

interface Fixture {
  name: string;
  snr_db: number;
  index_uses: number;
  length: number;
  entry: number[];
  noise: { file: string; shape: number[] };
  prior: { file: string };
  psnr_db_per_image: number[];
  psnr_db_mean: number;
  tolerance_db: number;
}

async function f32(file: string): Promise<Float32Array> {
  const b = await readFile(join(models, 'fixtures', file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const { fixtures } = JSON.parse(await readFile(join(models, 'fixtures/fixtures.json'), 'utf8')) as { fixtures: Fixture[] };
const fx = fixtures.find((f) => f.name === 'akb-fixed-k1024-awgn1')!;

describe('the akb-fixed model sets', () => {
  let set: ModelSet;
  let twin: ModelSet;
  beforeAll(async () => {
    [set, twin] = await Promise.all([loadModelSet(zoo, 'akb-fixed-k1024'), loadModelSet(zoo, 'akb-fixed-nokb')]);
  });

  it('load as kind akb-fixed: a pixel KB of 1024 entries, one action of 256 uses, no embedder, policy or channel KB', () => {
    for (const s of [set, twin]) {
      expect(s.kind).toBe('akb-fixed');
      expect(s.actions).toEqual([{ id: 0, channelUses: 256, powerDb: 0 }]);
      expect(s.maxSymbols).toBe(256);
      expect([s.embedder, s.policy, s.channelKb]).toEqual([undefined, undefined, undefined]);
      expect(s.kb!.name).toBe('akb-fixed-kb-k1024');
      expect([s.kb!.selection, s.kb!.size, s.kb!.dim]).toEqual(['pixel', 1024, 3072]);
    }
    expect([set.prior, twin.prior]).toEqual(['kb-entry', 'global-mean']);
    const kb = set.kb!;
    // The keys of a pixel KB are its priors; the version is PROTOCOL.md's kbVersion of those keys.
    expect(kb.keys).toBe(kb.priors);
    expect(kb.versionId).toBe(kbVersionOf(Array.from({ length: 1024 }, (_, k) => kb.priors.subarray(k * 3072, (k + 1) * 3072))));
    expect(kb.versionId).toBe(0x5679db1a);
    // The committed length table (models/common/index_uses.json, K = 1024): -2 / 1 / 5 / 10 dB.
    expect([-7, -6, -2, 0.5, 1, 5, 10, 40].map((s) => kb.indexUses(s))).toEqual([-1, -1, 33, 22, 18, 10, 6, 5]);
  });

  it(`encodes the fixture as PyTorch did: entries, ${fx.index_uses} index uses, prior; after AWGN the decoder is within ${fx.tolerance_db} dB of ${fx.psnr_db_mean} dB`, async () => {
    const [images, noise, priorRef] = await Promise.all([f32('images.f32'), f32(fx.noise.file), f32(fx.prior.file)]);
    const n = fx.entry.length;
    const width = fx.noise.shape[1]!;
    const encoder = await TileEncoder.create(set);
    const decoder = await defaultBackends().createSession(set.decoder.bytes, ['onnxruntime-node-cpu'], 'akb-fixed-dec');
    try {
      const out = await encoder.encode({ tiles: images, count: n, actions: new Uint8Array(n), snrEstimateDb: fx.snr_db });
      expect(Array.from(out.entries.subarray(0, n)), 'entry choice: least pixel error, as the reference').toEqual(fx.entry);
      expect(Array.from(out.indexUses.subarray(0, n))).toEqual(new Array(n).fill(fx.index_uses));
      expect(Array.from(out.lengths.subarray(0, n))).toEqual(new Array(n).fill(fx.length));
      const prior = new Float32Array(n * 3072);
      for (let i = 0; i < n; i++) prior.set(set.kb!.prior(out.entries[i]!), i * 3072);
      expect(prior, 'the prior fed to the encoder is the fixture prior').toEqual(priorRef);
      const received = new Float32Array(n * width);
      for (let i = 0; i < n; i++) {
        const at = out.offsets[i]!;
        expect(out.offsets[i + 1]! - at).toBe(2 * fx.length);
        for (let k = 0; k < 2 * fx.length; k++) received[i * width + k] = out.values[at + k]! + noise[i * width + k]!;
      }
      const r = await decoder.run({
        latent: { data: received, dims: [n, width] },
        prior: { data: prior, dims: [n, 3, 32, 32] },
        snr_db: { data: new Float32Array(n).fill(fx.snr_db), dims: [n, 1] },
        length: { data: new Float32Array(n).fill(fx.length), dims: [n, 1] },
      });
      const recon = r.image!.data;
      const per = Array.from({ length: n }, (_, i) => psnr(images.subarray(i * 3072, (i + 1) * 3072), recon.subarray(i * 3072, (i + 1) * 3072)));
      const mean = per.reduce((a, b) => a + b, 0) / n;
      if (process.env.AKB_VERBOSE) process.stderr.write(`akb-fixed-k1024-awgn1: TypeScript ${mean.toFixed(4)} dB, PyTorch ${fx.psnr_db_mean} dB\n`);
      expect(Math.abs(mean - fx.psnr_db_mean)).toBeLessThanOrEqual(fx.tolerance_db);
      for (let i = 0; i < n; i++) expect(Math.abs(per[i]! - fx.psnr_db_per_image[i]!), `image ${i}`).toBeLessThanOrEqual(fx.tolerance_db);
    } finally {
      await Promise.all([encoder.release(), decoder.release()]);
    }
  });

  it('the pixel search is the brute-force argmin (the fixture images, their mirrors, a prior itself, flat images)', async () => {
    const images = await f32('images.f32');
    const kb = set.kb!;
    const queries: Float32Array[] = [];
    for (let i = 0; i < 16; i++) {
      const img = images.slice(i * 3072, (i + 1) * 3072);
      queries.push(img, img.map((_, j) => img[j - (j % 32) + 31 - (j % 32)]!));
    }
    queries.push(kb.prior(417).slice(), new Float32Array(3072), new Float32Array(3072).fill(1), new Float32Array(3072).fill(0.5));
    for (const q of queries) {
      let best = -1;
      let bestD = Number.POSITIVE_INFINITY;
      for (let k = 0; k < kb.size; k++) {
        let d = 0;
        for (let j = 0; j < 3072; j++) d += (q[j]! - kb.priors[k * 3072 + j]!) ** 2;
        if (d < bestD) [best, bestD] = [k, d];
      }
      expect(kb.nearest(q).entry).toBe(best);
    }
    expect(kb.nearest(queries.at(-4)!)).toEqual({ entry: 417, distance: 0 });
  });

  it('sends no entry for the twin or with the KB withheld: the global mean as prior, all 256 uses latent', async () => {
    const images = await f32('images.f32');
    for (const [s, sourceKb] of [[twin, 'on'], [set, 'off']] as const) {
      const encoder = await TileEncoder.create(s, { sourceKb });
      try {
        const out = await encoder.encode({ tiles: images, count: 16, actions: new Uint8Array(16), snrEstimateDb: 1 });
        expect(Array.from(out.entries.subarray(0, 16))).toEqual(new Array(16).fill(-1));
        expect(Array.from(out.lengths.subarray(0, 16))).toEqual(new Array(16).fill(256));
        expect(Array.from(out.indexUses.subarray(0, 16))).toEqual(new Array(16).fill(0));
      } finally {
        await encoder.release();
      }
    }
  });

  it('at an SNR whose index takes more than half the frame (-5 dB: 64 uses) or has no code (-6 dB), sends no entry', async () => {
    const images = await f32('images.f32');
    const encoder = await TileEncoder.create(set);
    try {
      const low = await encoder.encode({ tiles: images, count: 2, actions: new Uint8Array(2), snrEstimateDb: -5 });
      expect([low.entries[0], low.indexUses[0], low.lengths[0]]).toEqual([fx.entry[0], 64, 192]);
      const none = await encoder.encode({ tiles: images, count: 2, actions: new Uint8Array(2), snrEstimateDb: -6 });
      expect([none.entries[0], none.indexUses[0], none.lengths[0]]).toEqual([-1, 0, 256]);
    } finally {
      await encoder.release();
    }
  });

  it('refuses an entry outside the KB: prior(1024), prior(65535), prior(0.5), prior(NaN)', () => {
    const kb = set.kb!;
    for (const e of [1024, 65535, 0.5, Number.NaN]) expect(() => kb.prior(e), `entry ${e}`).toThrow(expect.objectContaining({ code: 'KB_ENTRY' }));
    expect(kb.prior(-1)).toBe(kb.globalMean);
  });
});

describe('hostile akb-fixed KB snapshots and set files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-fixed-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function kbCopy(name: string, edit: (kb: string) => Promise<void>): Promise<string> {
    const to = join(dir, name);
    await cp(join(zoo, 'akb-fixed-kb-k1024'), to, { recursive: true });
    await edit(to);
    return to;
  }
  /** The typed error a promise is refused with. */
  async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
    try {
      await p;
    } catch (e) {
      return { code: (e as { code?: string }).code ?? 'none', message: (e as Error).message };
    }
    throw new Error('not refused');
  }
  async function editJson(file: string, f: (j: Record<string, unknown>) => void): Promise<void> {
    const j = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    f(j);
    await writeFile(file, JSON.stringify(j));
  }

  it('priors.u8 cut short (KB_INVALID, before reading it), K of 10^9 (KB_INVALID), a changed byte (KB_CORRUPT), no index table (KB_INVALID)', async () => {
    const short = await kbCopy('short', (d) => truncate(join(d, 'priors.u8'), 3072 * 1000));
    expect(await refusal(loadSourceKb(short))).toEqual({ code: 'KB_INVALID', message: expect.stringContaining('3072000 bytes, expected 3145728') as string });
    const huge = await kbCopy('huge', (d) => editJson(join(d, 'kb.json'), (j) => void (j.K = 1e9)));
    expect(await refusal(loadSourceKb(huge))).toEqual({ code: 'KB_INVALID', message: expect.stringContaining('K must be an integer') as string });
    const flipped = await kbCopy('flipped', async (d) => {
      const b = await readFile(join(d, 'priors.u8'));
      b[12345] = b[12345]! ^ 1;
      await writeFile(join(d, 'priors.u8'), b);
    });
    await expect(loadSourceKb(flipped)).rejects.toMatchObject({ code: 'KB_CORRUPT' });
    const nocode = await kbCopy('nocode', (d) => editJson(join(d, 'kb.json'), (j) => void delete j.index_code));
    expect(await refusal(loadSourceKb(nocode))).toEqual({ code: 'KB_INVALID', message: expect.stringContaining('index_code') as string });
  });

  it('set files: an akb-fixed set naming a policy, an embedding KB, a bad prior rule, or an unknown kind (MODEL_SET_INVALID)', async () => {
    const base = { name: 'x', kind: 'akb-fixed', encoder: 'akb-fixed-enc', decoder: 'akb-fixed-dec', kb: 'akb-fixed-kb-k1024' };
    const cases: [string, Record<string, unknown>, string][] = [
      ['policy', { ...base, policy: 'akb-dqn-policy' }, 'has no policy'],
      ['embedding-kb', { ...base, kb: 'akb-kb-k256' }, 'is an embedding KB'],
      ['prior', { ...base, prior: 'nearest' }, '"prior" must be'],
      ['kind', { ...base, kind: 'akb-fixed-v2' }, '"kind" must be one of'],
      ['no-kb', { ...base, kb: undefined }, 'names its kb'],
      ['prior-on-deepjscc', { ...base, kind: 'deepjscc', prior: 'global-mean' }, '"prior" is for an akb-fixed set'],
    ];
    for (const [name, spec, message] of cases) {
      const file = join(dir, `${name}.json`);
      await writeFile(file, JSON.stringify(spec));
      const r = await refusal(loadModelSet(zoo, file));
      expect(r.code, name).toBe('MODEL_SET_INVALID');
      expect(r.message, name).toContain(message);
    }
  });
});
