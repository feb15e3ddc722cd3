/**
 * The Node.js runtime a bundle carries (node/bin/node and node/LICENSE), as the profile's `runtime.node`
 * names it ({package, version}: the official build the npm registry publishes as node-linux-<arch>).
 *
 * Fetched with `npm pack <package>@<version> --json --pack-destination <cache>/node` (cache: $AKB_CACHE,
 * else ~/.cache/akb); the tarball's SHA-512 is checked against the integrity npm reports from the registry,
 * again whenever a cached copy is reused (the sidecar `<tgz>.integrity` keeps it). Only bin/node and LICENSE
 * are extracted (with the system `tar`). `--node <tgz|folder>` supplies one offline: an npm tarball
 * (package/bin/node), an official nodejs.org tarball (node-v…/bin/node), or a folder holding bin/node.
 * Whatever the source, the binary must be an ELF executable for the profile's CPU, or it is refused.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AkbError, type CpuArch, type DeviceProfile } from '@akb/protocol';
import type { PayloadFile, ProgressFn } from './types.js';

const run = promisify(execFile);

/** ELF e_machine of each architecture. */
const ELF_MACHINE: Readonly<Record<CpuArch, number>> = { x64: 0x3e, arm64: 0xb7, armv7: 0x28 };
/** A Node.js binary is ~100 MB; anything past this is not one. */
const MAX_NODE_BYTES = 512 * 1024 * 1024;

export type NodeSource = { kind: 'registry' } | { kind: 'none' } | { kind: 'given'; path: string };

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AKB_CACHE ?? join(homedir(), '.cache', 'akb'));
}

/** The node/ files for `profile`, or none (no runtime.node, or --no-node). */
export async function nodeRuntimeFiles(profile: DeviceProfile, source: NodeSource, progress: ProgressFn, cache = cacheDir()): Promise<{ files: PayloadFile[]; version?: string }> {
  if (source.kind === 'none') return { files: [] };
  let folder: string;
  let version: string | undefined;
  if (source.kind === 'given') {
    folder = await fromGiven(resolve(source.path), cache);
  } else {
    const spec = profile.runtime.node;
    if (spec === undefined) return { files: [] };
    folder = await fromRegistry(spec.package, spec.version, cache, progress);
    version = spec.version;
  }
  const node = join(folder, 'bin', 'node');
  await checkElf(node, profile.cpu.arch);
  const files: PayloadFile[] = [{ path: 'node/bin/node', role: 'runtime', mode: 0o755, source: { file: node } }];
  const license = join(folder, 'LICENSE');
  if (await isFile(license)) files.push({ path: 'node/LICENSE', role: 'other', source: { file: license } });
  return { files, ...(version !== undefined ? { version } : {}) };
}

async function fromRegistry(pkg: string, version: string, cache: string, progress: ProgressFn): Promise<string> {
  const dir = join(cache, 'node');
  await mkdir(dir, { recursive: true });
  const tgz = join(dir, `${pkg}-${version}.tgz`);
  const sidecar = `${tgz}.integrity`;
  const extracted = join(dir, `${pkg}-${version}`);
  let integrity = await readFile(sidecar, 'utf8').then((s) => s.trim(), () => undefined);
  if (integrity === undefined || !(await isFile(tgz))) {
    progress(`fetching ${pkg}@${version} from the npm registry (npm pack)...`);
    let stdout: string;
    try {
      ({ stdout } = await run('npm', ['pack', `${pkg}@${version}`, '--json', '--pack-destination', dir], { cwd: dir, maxBuffer: 8 * 1024 * 1024 }));
    } catch (e) {
      const why = ((e as { stderr?: string }).stderr ?? (e as Error).message).split('\n').find((l) => /npm (error|ERR)/.test(l)) ?? (e as Error).message.split('\n')[0];
      throw new AkbError('NODE_FETCH_FAILED', `npm pack ${pkg}@${version} failed: ${why}`, {
        hint: 'check the network or the npm registry, or supply the runtime offline with --node <tgz|folder>, or leave it out with --no-node',
        cause: e,
      });
    }
    const info = (JSON.parse(stdout) as { filename: string; integrity: string }[])[0];
    if (info === undefined || !info.integrity.startsWith('sha512-')) throw new AkbError('NODE_FETCH_FAILED', `npm pack ${pkg}@${version} reported no sha512 integrity`);
    if (join(dir, info.filename) !== tgz) await rename(join(dir, info.filename), tgz);
    integrity = info.integrity;
    await writeFile(sidecar, `${integrity}\n`);
    await rm(extracted, { recursive: true, force: true });
  }
  const actual = `sha512-${await hashFile(tgz, 'sha512', 'base64')}`;
  if (actual !== integrity) {
    await rm(tgz, { force: true });
    await rm(sidecar, { force: true });
    throw new AkbError('NODE_INTEGRITY', `${tgz} does not match the registry's integrity for ${pkg}@${version}`, { hint: 'it was removed from the cache; run again to fetch it anew' });
  }
  if (!(await isFile(join(extracted, 'bin', 'node')))) await extract(tgz, 'package/', extracted);
  return extracted;
}

async function fromGiven(path: string, cache: string): Promise<string> {
  const s = await stat(path).catch(() => undefined);
  if (s === undefined) throw new AkbError('NODE_MISSING', `--node ${path} does not exist`, { hint: 'pass a node-linux-<arch> tarball or a folder holding bin/node' });
  if (s.isDirectory()) {
    if (!(await isFile(join(path, 'bin', 'node')))) throw new AkbError('NODE_MISSING', `--node ${path} holds no bin/node`, { hint: 'pass the folder of a Node.js build (bin/node inside)' });
    return path;
  }
  const listing = await run('tar', ['-tzf', path], { maxBuffer: 64 * 1024 * 1024 }).catch((e: unknown) => {
    throw new AkbError('NODE_MISSING', `--node ${path} is not a readable .tgz`, { hint: 'pass a node-linux-<arch> tarball or a folder holding bin/node', cause: e });
  });
  const member = listing.stdout.split('\n').find((m) => /^[^/]+\/bin\/node$/.test(m));
  if (member === undefined) throw new AkbError('NODE_MISSING', `--node ${path} holds no <folder>/bin/node`, { hint: 'pass the npm package node-linux-<arch> or an official Node.js tarball' });
  const key = createHash('sha256').update(`${path}:${s.size}:${s.mtimeMs}`).digest('hex').slice(0, 16);
  const out = join(cache, 'node', `given-${basename(path).replace(/[^A-Za-z0-9._-]/g, '_')}-${key}`);
  if (!(await isFile(join(out, 'bin', 'node')))) await extract(path, member.slice(0, -'bin/node'.length), out);
  return out;
}

/** Extracts `<prefix>bin/node` and `<prefix>LICENSE` of `tgz` into `out` (through a temporary folder, then renamed). */
async function extract(tgz: string, prefix: string, out: string): Promise<void> {
  await mkdir(resolve(out, '..'), { recursive: true });
  const tmp = await mkdtemp(`${out}.tmp-`);
  try {
    const strip = prefix.split('/').filter((p) => p !== '').length;
    await run('tar', ['-xzf', tgz, '-C', tmp, `--strip-components=${strip}`, `${prefix}bin/node`], { maxBuffer: 1024 * 1024 });
    await run('tar', ['-xzf', tgz, '-C', tmp, `--strip-components=${strip}`, `${prefix}LICENSE`], { maxBuffer: 1024 * 1024 }).catch(() => undefined);
    await rm(out, { recursive: true, force: true });
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw new AkbError('NODE_MISSING', `cannot extract bin/node from ${tgz}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

/** Refuses a file that is not an ELF executable for `arch` (or is larger than any Node.js binary). */
export async function checkElf(path: string, arch: CpuArch): Promise<void> {
  const s = await stat(path);
  if (s.size > MAX_NODE_BYTES) throw new AkbError('NODE_WRONG_BINARY', `${path} is ${s.size} bytes, more than any Node.js binary`);
  const head = Buffer.alloc(20);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 20, 0);
  } finally {
    await fh.close();
  }
  if (head.readUInt32BE(0) !== 0x7f454c46) throw new AkbError('NODE_WRONG_BINARY', `${path} is not an ELF executable`, { hint: 'supply the Linux build of Node.js for the board' });
  const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  if (machine !== ELF_MACHINE[arch]) {
    throw new AkbError('NODE_WRONG_BINARY', `${path} is built for ELF machine 0x${machine.toString(16)}, not ${arch}`, { hint: `supply node-linux-${arch === 'armv7' ? 'armv7l' : arch}` });
  }
}

export async function hashFile(path: string, algorithm: 'sha256' | 'sha512', encoding: 'hex' | 'base64' = 'hex'): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest(encoding);
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}
