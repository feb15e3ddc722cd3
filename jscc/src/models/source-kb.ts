/**
 * The source KB snapshot (models/zoo/<kb>/): entry keys, each entry's prior image, the global mean (the
 * prior when no index is sent) and the index-code length table. Edge and cloud load the same files;
 * `versionId` (the first 32 bits of the keys' SHA-256) names the version in frame headers, so a receiver
 * holding another KB can tell instead of decoding garbage.
 *
 * Two kinds, told apart by the snapshot itself:
 * - `embedding` (kb.json lists `keys.f32` and `embedding_dim`, e.g. akb-kb-k256): keys live in the
 *   embedder's space; the transmitter picks the key nearest to embedder(image).
 * - `pixel` (kb.json lists no `keys.f32`, e.g. the k-means KB akb-fixed-kb-k1024): the keys are the priors
 *   themselves (planar RGB in [0, 1], dim 3 x 32 x 32 = 3072, the same array as `priors`); the transmitter
 *   picks the prior of least squared error to the image (models/train/fixed_kb.py). The version is then
 *   `kbVersionOf` of those keys (PROTOCOL.md "KB version": each key's float32 values, little-endian).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError, kbVersionOf } from '@akb/protocol';
import { pixelSearch } from './pixel-search.js';

/** Most entries a snapshot may hold (checked against kb.json before anything is allocated). */
export const KB_MAX_ENTRIES = 65_536;
/** Values of one 32 x 32 RGB prior. */
const PRIOR_VALUES = 3072;

export interface SourceKb {
  readonly name: string;
  readonly version: string;
  /** u32 carried in frame headers. */
  readonly versionId: number;
  /** How the transmitter picks an entry: nearest key to the embedder's output, or to the image's pixels. */
  readonly selection: 'embedding' | 'pixel';
  readonly size: number;
  readonly dim: number;
  /** K x dim (a pixel KB: the priors, dim 3072). */
  readonly keys: Float32Array;
  /** K x 3 x 32 x 32, planar RGB in [0, 1]. */
  readonly priors: Float32Array;
  /** 3 x 32 x 32, planar RGB in [0, 1]. */
  readonly globalMean: Float32Array;
  /** Channel uses spent on the entry index at `snrDb` (the index code's length table); -1: send none. */
  indexUses(snrDb: number): number;
  /** The prior of `entry`, or the global mean for -1. */
  prior(entry: number): Float32Array;
  /**
   * The entry whose key is nearest to the `dim` values of `embedding` from `offset` (squared Euclidean
   * distance; ties: the lowest entry). A pixel KB: the values are a 3 x 32 x 32 planar image in [0, 1].
   */
  nearest(embedding: Float32Array, offset?: number): { entry: number; distance: number };
}

interface KbFile { shape: number[]; sha256: string }
interface KbJson {
  name: string;
  version: string;
  K: number;
  embedding_dim?: number;
  files?: Record<string, KbFile>;
  index_code: { snr_db: number[]; uses: number[] };
}

export async function loadSourceKb(dir: string): Promise<SourceKb> {
  let meta: KbJson;
  try {
    meta = JSON.parse(await readFile(join(dir, 'kb.json'), 'utf8')) as KbJson;
  } catch (e) {
    throw new AkbError('KB_MISSING', `cannot read the source KB at ${dir}/kb.json: ${(e as Error).message}`, { cause: e });
  }
  if (typeof meta !== 'object' || meta === null) throw new AkbError('KB_INVALID', `${dir}/kb.json is no JSON object`);
  /** A listed file of exactly `size` bytes (checked before it is read) whose SHA-256 matches kb.json. */
  const file = async (name: string, size: number, what: string): Promise<Buffer> => {
    const spec = meta.files?.[name];
    if (!spec) throw new AkbError('KB_INVALID', `${dir}/kb.json lists no ${name}`);
    const actual = (await stat(join(dir, name)).catch((e: unknown) => {
      throw new AkbError('KB_MISSING', `cannot read ${dir}/${name}: ${(e as Error).message}`, { cause: e });
    })).size;
    if (actual !== size) throw new AkbError('KB_INVALID', `${dir}/${name} holds ${actual} bytes, expected ${size} (${what})`);
    const bytes = await readFile(join(dir, name));
    if (createHash('sha256').update(bytes).digest('hex') !== spec.sha256) {
      throw new AkbError('KB_CORRUPT', `${dir}/${name} does not match the SHA-256 in kb.json`, { hint: 'copy the KB snapshot again' });
    }
    return bytes;
  };
  const K = meta.K;
  if (!Number.isInteger(K) || K < 1 || K > KB_MAX_ENTRIES) throw new AkbError('KB_INVALID', `${dir}/kb.json: K must be an integer in 1..${KB_MAX_ENTRIES}, not ${String(K)}`);
  const files = meta.files ?? {};
  const selection = files['keys.f32'] === undefined ? 'pixel' : 'embedding';
  const priorBytes = await file('priors.u8', K * PRIOR_VALUES, `${K} x 32 x 32 x 3`);
  const gmeanBytes = await file('gmean.u8', PRIOR_VALUES, '32 x 32 x 3');
  const priors = hwcToChw(priorBytes, K);
  const globalMean = hwcToChw(gmeanBytes, 1);
  let keys: Float32Array;
  let dim: number;
  let versionId: number;
  if (selection === 'embedding') {
    dim = meta.embedding_dim ?? 0;
    if (!Number.isInteger(dim) || dim < 1 || dim > 4096) throw new AkbError('KB_INVALID', `${dir}/kb.json: embedding_dim must be an integer in 1..4096`);
    const keysBytes = await file('keys.f32', 4 * K * dim, `${K} x ${dim} float32`);
    keys = new Float32Array(keysBytes.buffer.slice(keysBytes.byteOffset, keysBytes.byteOffset + keysBytes.byteLength));
    versionId = Number.parseInt(files['keys.f32']!.sha256.slice(0, 8), 16) >>> 0;
  } else {
    dim = PRIOR_VALUES;
    keys = priors;
    versionId = kbVersionOf(Array.from({ length: K }, (_, k) => priors.subarray(k * dim, (k + 1) * dim)));
  }
  const code = meta.index_code;
  if (!code || !Array.isArray(code.snr_db) || !Array.isArray(code.uses) || code.snr_db.length === 0 || code.snr_db.length !== code.uses.length) {
    throw new AkbError('KB_INVALID', `${dir}/kb.json: index_code needs snr_db and uses of one length`);
  }
  const { snr_db: snrs, uses } = code;
  const pixels = selection === 'pixel' ? pixelSearch(priors, K) : undefined;
  return {
    name: meta.name,
    version: meta.version,
    versionId,
    selection,
    size: K,
    dim,
    keys,
    priors,
    globalMean,
    indexUses(snrDb) {
      // floor(snr + 1e-9) as the Python reference (models/train/fixed.py), so 0.9999999999 dB counts as 1 dB
      const k = Math.floor(snrDb + 1e-9) - snrs[0]!;
      if (!(k >= 0)) return -1;
      return uses[Math.min(snrs.length - 1, k)] ?? -1;
    },
    prior(entry) {
      if (entry < 0) return globalMean;
      if (!(entry < K) || !Number.isInteger(entry)) throw new AkbError('KB_ENTRY', `entry ${entry} is not in the KB (size ${K})`);
      return priors.subarray(entry * 3072, (entry + 1) * 3072);
    },
    nearest(embedding, offset = 0) {
      if (pixels) return pixels.nearest(embedding, offset);
      let best = 0;
      let bestD = Number.POSITIVE_INFINITY;
      for (let k = 0; k < K; k++) {
        let d = 0;
        for (let j = 0; j < dim; j++) {
          const t = embedding[offset + j]! - keys[k * dim + j]!;
          d += t * t;
        }
        if (d < bestD) {
          bestD = d;
          best = k;
        }
      }
      return { entry: best, distance: bestD };
    },
  };
}

/** uint8 HWC 32x32x3 images to float CHW in [0, 1]. */
function hwcToChw(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count * 3072);
  for (let n = 0; n < count; n++) {
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) out[n * 3072 + c * 1024 + p] = bytes[n * 3072 + p * 3 + c]! / 255;
    }
  }
  return out;
}
