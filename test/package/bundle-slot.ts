/**
 * A real bundle for a profile, unpacked into a folder as a board's slot: `akb package`'s library with the
 * official Node.js build from the npm registry (cached in the ignored .cache/akb, so a second run reuses
 * it), a fresh Ed25519 key, then @akb/flash's readBundle with that key trusted, so every member's size and
 * SHA-256 and the signature are checked as they are written, and the manifest and its signature kept in
 * the slot's .akb/ as the install agent keeps them. No vitest here (bench/package/qemu.ts uses it).
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { generateKeyFiles, loadTrustedKeys, readBundle, type BundleSink } from '@akb/flash';
import type { BundleManifest } from '@akb/protocol';
import { packageBundle, type PackageSummary } from '../../toolkit/src/package/index.js';
import { repoRoot } from './qemu.js';

export interface UnpackedSlot {
  readonly bundle: string;
  readonly slot: string;
  readonly summary: PackageSummary;
  readonly manifest: BundleManifest;
  /** What the slot's bin/akb-edge launcher exports, for running app/akb-edge.mjs without it. */
  readonly env: Record<string, string>;
  /** The Node.js flags bin/akb-edge starts the edge with (its AKB_EDGE_NODE_OPTIONS default). */
  readonly nodeArgs: string[];
}

/** Writes each verified member under `slot`, refusing a path that would leave it. */
function folderSink(slot: string): BundleSink {
  const root = resolve(slot);
  return {
    async file(entry, content) {
      const target = resolve(root, entry.path);
      if (!target.startsWith(root + sep)) throw new Error(`member ${entry.path} leaves the slot`);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(Readable.from(content), createWriteStream(target, { mode: 0o600 }));
      await chmod(target, entry.mode ?? 0o644);
    },
  };
}

/** Packages `profile` with `set` into `work`/<profile>.akb and unpacks it, verified, into `work`/root-<profile>/slot-a. */
export async function packageAndUnpack(profile: string, set: string, work: string): Promise<UnpackedSlot> {
  const keys = await generateKeyFiles(work, 'ci');
  const bundle = join(work, `${profile}.akb`);
  const summary = await packageBundle({
    profile,
    set,
    models: join(repoRoot, 'models/zoo'),
    key: keys.privateKey,
    output: bundle,
    node: { kind: 'registry' },
    cache: process.env.AKB_CACHE ?? join(repoRoot, '.cache/akb'),
  });
  // slot-a of an install root, as a board's agent lays it out (the edge names the slot from the folder).
  const slot = join(work, `root-${profile}`, 'slot-a');
  const header = await readBundle(bundle, { trustedKeys: await loadTrustedKeys([keys.publicKey]), sink: folderSink(slot) });
  // As the install agent leaves a slot (toolkit/flash/README.md, "Slot layout"): the edge's birth names the bundle from these.
  await mkdir(join(slot, '.akb'), { recursive: true });
  await writeFile(join(slot, '.akb/manifest.json'), header.manifestBytes);
  await writeFile(join(slot, '.akb/manifest.sig'), header.signatureBytes);
  const launcher = await readFile(join(slot, 'bin/akb-edge'), 'utf8');
  const flags = /\$\{AKB_EDGE_NODE_OPTIONS:-([^}]*)\}/.exec(launcher)?.[1];
  if (flags === undefined) throw new Error('bin/akb-edge names no default AKB_EDGE_NODE_OPTIONS');
  const setFile = /AKB_SET:-\$SLOT\/(models\/sets\/[^}]+\.json)\}/.exec(launcher)?.[1];
  if (setFile === undefined) throw new Error('bin/akb-edge names no model set');
  return {
    bundle,
    slot,
    summary,
    manifest: header.manifest,
    env: {
      AKB_SLOT_DIR: slot,
      AKB_PROFILE: join(slot, 'profile.json'),
      AKB_MODELS: join(slot, 'models/zoo'),
      AKB_SET: join(slot, setFile),
      MALLOC_ARENA_MAX: '2',
    },
    nodeArgs: flags.split(' ').filter((f) => f !== ''),
  };
}
