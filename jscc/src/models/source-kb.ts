/**
 * The source KB snapshot (models/zoo/<kb>/): entry keys in the embedder's space, each entry's prior image,
 * the global mean (the prior when no index is sent) and the index-code length table. Edge and cloud load
 * the same files; `versionId` (the first 32 bits of the keys' SHA-256) names the version in frame headers,
 * so a receiver holding another KB can tell instead of decoding garbage.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';

export interface SourceKb {
  readonly name: string;
  readonly version: string;
  /** u32 carried in frame headers. */
  readonly versionId: number;
  readonly size: number;
  readonly dim: number;
  /** K x dim. */
  readonly keys: Float32Array;
  /** K x 3 x 32 x 32, planar RGB in [0, 1]. */
  readonly priors: Float32Array;
  /** 3 x 32 x 32, planar RGB in [0, 1]. */
  readonly globalMean: Float32Array;
  /** Channel uses spent on the entry index at `snrDb` (the index code's length table); -1: send none. */
  indexUses(snrDb: number): number;
  /** The prior of `entry`, or the global mean for -1. */
  prior(entry: number): Float32Array;
  /** The entry whose key is nearest to `embedding` (squared Euclidean distance). */
  nearest(embedding: Float32Array): { entry: number; distance: number };
}

interface KbFile { shape: number[]; sha256: string }
interface KbJson {
  name: string;
  version: string;
  K: number;
  embedding_dim: number;
  files: Record<string, KbFile>;
  index_code: { snr_db: number[]; uses: number[] };
}

export async function loadSourceKb(dir: string): Promise<SourceKb> {
  let meta: KbJson;
  try {
    meta = JSON.parse(await readFile(join(dir, 'kb.json'), 'utf8')) as KbJson;
  } catch (e) {
    throw new AkbError('KB_MISSING', `cannot read the source KB at ${dir}/kb.json: ${(e as Error).message}`, { cause: e });
  }
  const file = async (name: string): Promise<Buffer> => {
    const spec = meta.files[name];
    if (!spec) throw new AkbError('KB_INVALID', `${dir}/kb.json lists no ${name}`);
    const bytes = await readFile(join(dir, name));
    if (createHash('sha256').update(bytes).digest('hex') !== spec.sha256) {
      throw new AkbError('KB_CORRUPT', `${dir}/${name} does not match the SHA-256 in kb.json`, { hint: 'copy the KB snapshot again' });
    }
    return bytes;
  };
  const K = meta.K;
  const dim = meta.embedding_dim;
  const keysBytes = await file('keys.f32');
  const keys = new Float32Array(keysBytes.buffer.slice(keysBytes.byteOffset, keysBytes.byteOffset + keysBytes.byteLength));
  if (keys.length !== K * dim) throw new AkbError('KB_INVALID', `keys.f32 holds ${keys.length} values, expected ${K} x ${dim}`);
  const priors = hwcToChw(await file('priors.u8'), K);
  const globalMean = hwcToChw(await file('gmean.u8'), 1);
  const { snr_db: snrs, uses } = meta.index_code;
  const versionId = Number.parseInt(meta.files['keys.f32']!.sha256.slice(0, 8), 16) >>> 0;
  return {
    name: meta.name,
    version: meta.version,
    versionId,
    size: K,
    dim,
    keys,
    priors,
    globalMean,
    indexUses(snrDb) {
      const i = Math.min(snrs.length - 1, Math.max(0, Math.floor(snrDb) - snrs[0]!));
      return uses[i] ?? -1;
    },
    prior(entry) {
      if (entry < 0) return globalMean;
      if (!(entry < K)) throw new AkbError('KB_ENTRY', `entry ${entry} is not in the KB (size ${K})`);
      return priors.subarray(entry * 3072, (entry + 1) * 3072);
    },
    nearest(embedding) {
      let best = 0;
      let bestD = Number.POSITIVE_INFINITY;
      for (let k = 0; k < K; k++) {
        let d = 0;
        for (let j = 0; j < dim; j++) {
          const t = embedding[j]! - keys[k * dim + j]!;
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
