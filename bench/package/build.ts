/**
 * `akb package` figures: bundle size per profile with and without the Node.js runtime, and packaging time
 * against a baseline measured in the same run on the same bytes: gzip (zlib level 6, what the bundle
 * writer uses) of every payload file of the bundle, read from disk as the writer reads them. The ratio
 * packaging/gzip says what esbuild, the addon selection, the hashing passes and the signing cost on top.
 * The Node.js runtime comes from the npm pack cache ($AKB_CACHE, else ~/.cache/akb; fetched once, the fetch
 * not timed); when the registry cannot be reached the with-node figures are null with the reason.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateKeyFiles } from '@akb/flash';
import { packageBundle, type PackageSummary } from '../../toolkit/src/package/index.js';

const PROFILES = ['generic-x64', 'rpi-5', 'rpi-3', 'jetson-orin-nano'];
const SET = 'akb-k256';
const created = new Date(1_700_000_000_000);

async function gzipBaseline(bundle: string, dir: string): Promise<number> {
  const { spawnSync } = await import('node:child_process');
  const unpacked = join(dir, 'gz-unpacked');
  spawnSync('mkdir', ['-p', unpacked]);
  spawnSync('tar', ['-xzf', bundle, '-C', unpacked]);
  const manifest = JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8')) as { files: { path: string }[] };
  const started = performance.now();
  let out = 0;
  for (const f of manifest.files) out += gzipSync(await readFile(join(unpacked, 'payload', f.path)), { level: 6 }).length;
  const ms = performance.now() - started;
  await rm(unpacked, { recursive: true, force: true });
  void out;
  return ms;
}

export async function runPackageBuildBench(): Promise<object> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-bench-package-'));
  try {
    const { privateKey } = await generateKeyFiles(join(dir, 'keys'), 'bench');
    const rows: object[] = [];
    for (const profile of PROFILES) {
      const base = { profile, set: SET, key: privateKey, created };
      const bare = join(dir, `${profile}.akb`);
      let t = performance.now();
      const noNode: PackageSummary = await packageBundle({ ...base, output: bare, node: { kind: 'none' } });
      const packMs = performance.now() - t;
      const gzipMs = await gzipBaseline(bare, dir);
      let withNode: { bytes: number; ms: number; node: string | null } | { error: string };
      try {
        await packageBundle({ ...base, output: join(dir, `${profile}-node.akb`), node: { kind: 'registry' } }); // fills the cache
        t = performance.now();
        const s = await packageBundle({ ...base, output: join(dir, `${profile}-node.akb`), node: { kind: 'registry' } });
        withNode = { bytes: s.size, ms: performance.now() - t, node: s.node };
      } catch (e) {
        withNode = { error: (e as Error).message.split('\n')[0]! };
      }
      rows.push({
        profile,
        arch: noNode.arch,
        files: noNode.files,
        bytesWithoutNode: noNode.size,
        bytesByRole: noNode.bytesByRole,
        packageMs: Math.round(packMs),
        gzipPayloadMs: Math.round(gzipMs),
        packageOverGzip: Number((packMs / gzipMs).toFixed(2)),
        withNode,
      });
    }
    return { bench: 'package-build', set: SET, rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runPackageBuildBench().then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: unknown) => {
      process.stderr.write(`bench/package/build: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
