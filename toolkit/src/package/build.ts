/**
 * `akb package`: everything a board runs, in one signed bundle (toolkit/flash/README.md, "Bundle format"
 * and "Slot layout"). The phases, each a function: the profile and key; the model set (quantized for the
 * profile when asked) and its checks; the bundled JavaScript; the pruned native addons; the Node.js runtime;
 * the profile, the systemd units, the probe image and the launchers; then @akb/flash writes and signs.
 *
 * Reproducible: `created` comes from SOURCE_DATE_EPOCH, else the commit time (bundleCreatedTime); the
 * members are sorted and their modes and owners fixed by the writer; nothing here embeds a path or a clock.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { AkbError, isAkbError, type BundleFileRole, type DeviceProfile } from '@akb/protocol';
import { addonFiles, jsccDir } from './addons.js';
import { appEntries, bundleApp } from './app.js';
import { agentLauncher, BUNDLE_NODE_RANGE, edgeLauncher } from './launchers.js';
import { checkFits, checkOnnx, defaultZoo, modelPayload, readModel, readSet, type EdgeModel, type SetSpec } from './models.js';
import { nodeRuntimeFiles, type NodeSource } from './node-runtime.js';
import { quantizeEdgeModels } from './quantize.js';
import type { PayloadFile, ProgressFn } from './types.js';

export interface PackageOptions {
  /** Device profile id. */
  profile: string;
  /** Model set: a name in <zoo>/../sets/ or a path to its JSON. */
  set: string;
  /** Model zoo folder; default: the zoo beside the set's folder. */
  models?: string;
  /** Ed25519 private key (PKCS#8 PEM). */
  key: string;
  output: string;
  /** Bundle version; default: @akb/edge's version. */
  version?: string;
  node: NodeSource;
  /** Quantize the edge models for the profile with this calibration folder. */
  quantize?: { calib: string };
  description?: string;
  progress?: ProgressFn;
  /** Download cache ($AKB_CACHE, else ~/.cache/akb). */
  cache?: string;
  /** Overrides bundleCreatedTime() (tests). */
  created?: Date;
}

export interface PackageSummary {
  output: string;
  name: string;
  version: string;
  profile: string;
  arch: string;
  sha256: string;
  size: number;
  files: number;
  /** Bytes of payload by role (uncompressed). */
  bytesByRole: Partial<Record<BundleFileRole, number>>;
  node: string | null;
  models: string[];
  agent: boolean;
  notes: string[];
}

/** The health check's probe: the first CIFAR-10 test image (by name), as PNG. */
const PROBE_DIR = ['models', 'samples', 'cifar10-test'];

export async function packageBundle(opts: PackageOptions): Promise<PackageSummary> {
  const progress = opts.progress ?? (() => undefined);
  const flash = await import('@akb/flash');
  const profile = await loadProfile(opts.profile);
  const key: KeyObject = await flash.loadPrivateKey(opts.key);
  const notes: string[] = [];

  const { path: setPath, spec } = await readSet(opts.models ?? 'models/zoo', opts.set);
  const zoo = resolve(opts.models ?? defaultZoo(setPath));
  progress(`model set ${spec.name} from ${zoo}`);
  const { models, cards, cleanup } = await edgeModels(profile, spec, zoo, opts, progress, notes);
  try {
    const { entries, workspace, missing } = await appEntries();
    if (missing.length > 0) notes.push('no install agent built yet (runtime-edge has no install entry point): bin/akb-agent says so');
    const files: PayloadFile[] = [];
    for (const entry of entries) {
      progress(`bundling ${entry.path} with esbuild`);
      files.push({ path: entry.path, role: 'runtime', source: { bytes: await bundleApp(entry, workspace) } });
    }
    files.push(...(await catalogueFiles()));
    progress(`native addons for ${profile.cpu.arch}`);
    const addons = await addonFiles(profile, jsccDir(), workspace);
    files.push(...addons.files);
    notes.push(...addons.notes);
    const node = await nodeRuntimeFiles(profile, opts.node, progress, opts.cache);
    files.push(...node.files);
    files.push(...(await modelPayload(spec, zoo, models, cards)));
    files.push(...(await boardFiles(profile, spec, workspace)));

    const version = opts.version ?? (await edgeVersion());
    const created = opts.created ?? flash.bundleCreatedTime();
    progress(`writing ${opts.output} (${files.length} files)`);
    const written = await flash.writeBundle(opts.output, {
      name: `akb-edge-${profile.id}`,
      version,
      targetProfiles: [profile.id],
      created,
      description: opts.description ?? `akb edge for ${profile.name}: model set ${spec.name}`,
      runtime: { arch: profile.cpu.arch, node: BUNDLE_NODE_RANGE },
      files,
      key,
    });
    const bytesByRole: PackageSummary['bytesByRole'] = {};
    for (const f of written.manifest.files) bytesByRole[f.role] = (bytesByRole[f.role] ?? 0) + f.size;
    return {
      output: resolve(opts.output),
      name: written.manifest.name,
      version,
      profile: profile.id,
      arch: profile.cpu.arch,
      sha256: written.sha256,
      size: written.size,
      files: written.manifest.files.length,
      bytesByRole,
      node: node.files.length > 0 ? (node.version ?? 'given') : null,
      models: models.map((m) => m.name),
      agent: missing.length === 0,
      notes,
    };
  } finally {
    await cleanup();
  }
}

async function loadProfile(id: string): Promise<DeviceProfile> {
  const { getProfile } = await import('@akb/devices');
  try {
    return await getProfile(id);
  } catch (e) {
    if (isAkbError(e) && e.code === 'UNKNOWN_PROFILE') throw new AkbError(e.code, e.message, { hint: e.hint, exitCode: 2, cause: e });
    throw e;
  }
}

/** The models the edge loads, quantized when asked, checked against their cards and the profile. */
async function edgeModels(profile: DeviceProfile, spec: SetSpec, zoo: string, opts: PackageOptions, progress: ProgressFn, notes: string[]) {
  const names = [spec.encoder, spec.decoder, spec.embedder, spec.policy].filter((n): n is string => n !== undefined);
  let models: EdgeModel[] = [];
  for (const name of names) models.push(await readModel(zoo, name));
  for (const m of models) {
    progress(`checking ${m.name}`);
    await checkOnnx(m);
  }
  let cards = new Map<string, Uint8Array>();
  let cleanup = (): Promise<void> => Promise.resolve();
  if (opts.quantize !== undefined) {
    const q = await quantizeEdgeModels(profile, models, opts.quantize.calib, progress);
    models = q.models;
    cards = q.cards;
    cleanup = q.cleanup;
    notes.push(...q.notes);
  }
  try {
    checkFits(profile, models);
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { models, cards, cleanup };
}

/** The profile catalogue in app/devices/, where the bundled @akb/devices looks (app.ts). */
async function catalogueFiles(): Promise<PayloadFile[]> {
  const { ProfileCatalogue, familyOf } = await import('@akb/devices');
  const catalogue = await ProfileCatalogue.load();
  return catalogue.entries.map((e) => ({
    path: `app/devices/${familyOf(e)}/${e.profile.id}.profile.json`,
    role: 'config' as const,
    source: { file: e.file },
  }));
}

/** profile.json, the systemd units, the probe image and the launchers. */
async function boardFiles(profile: DeviceProfile, spec: SetSpec, workspace: string): Promise<PayloadFile[]> {
  const { renderSystemdUnit } = await import('@akb/devices');
  const { $schema: _schema, ...plain } = profile;
  const files: PayloadFile[] = [
    { path: 'profile.json', role: 'config', source: { bytes: Buffer.from(`${JSON.stringify(plain, null, 2)}\n`) } },
    { path: 'systemd/akb-edge.service', role: 'config', source: { bytes: Buffer.from(await renderSystemdUnit(profile, 'akb-edge')) } },
    { path: 'systemd/akb-agent.service', role: 'config', source: { bytes: Buffer.from(await renderSystemdUnit(profile, 'akb-agent')) } },
    { path: 'bin/akb-edge', role: 'script', mode: 0o755, source: { bytes: Buffer.from(edgeLauncher({ set: spec.name })) } },
    { path: 'bin/akb-agent', role: 'script', mode: 0o755, source: { bytes: Buffer.from(agentLauncher({ set: spec.name })) } },
  ];
  const probeDir = join(workspace, ...PROBE_DIR);
  const images = (await readdir(probeDir).catch(() => [] as string[])).filter((n) => /\.(png|jpe?g)$/i.test(n)).sort();
  if (images[0] === undefined) throw new AkbError('PROBE_MISSING', `no image in ${probeDir} for the health check's probe`, { hint: 'the akb checkout holds models/samples/cifar10-test' });
  const { decodeImage, encodePng } = await import('@akb/jscc');
  const png = await encodePng(await decodeImage(await readFile(join(probeDir, images[0])), images[0]));
  files.push({ path: 'probe/probe.png', role: 'other', source: { bytes: png } });
  return files;
}

async function edgeVersion(): Promise<string> {
  const dist = dirname(createRequire(import.meta.url).resolve('@akb/edge'));
  return (JSON.parse(await readFile(join(dist, '..', 'package.json'), 'utf8')) as { version: string }).version;
}
