/**
 * Shared by the `akb package` tests: a temporary folder with an Ed25519 key, the built CLI run as a user
 * runs it, and a bundle unpacked with the system tar (the format is a plain gzip ustar: payload/<path>).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyFiles } from '@akb/flash';
import type { BundleManifest } from '@akb/protocol';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const akb = join(root, 'toolkit', 'bin', 'akb.js');
/** A fixed `created` for reproducible bundles (2023-11-14T22:13:20Z). */
export const EPOCH = '1700000000';

export async function workDir(prefix: string): Promise<{ dir: string; key: string; pub: string }> {
  const dir = await mkdtemp(join(tmpdir(), `akb-${prefix}-`));
  const keys = await generateKeyFiles(join(dir, 'keys'), 'test');
  return { dir, key: keys.privateKey, pub: keys.publicKey };
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `akb` with `args` (SOURCE_DATE_EPOCH fixed unless `env` says otherwise). */
export function runAkb(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [akb, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, ...env }, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Unpacks `bundle` into `dir` with tar; returns the payload folder (the slot) and the manifest. */
export async function unpack(bundle: string, dir: string): Promise<{ slot: string; manifest: BundleManifest }> {
  await mkdir(dir, { recursive: true });
  const r = spawnSync('tar', ['-xzf', bundle, '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf ${bundle}: ${r.stderr}`);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
  return { slot: join(dir, 'payload'), manifest };
}

/** The stderr lines of a refused command: exactly one, no stack trace. */
export function oneLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('akb package: '));
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got:\n${r.stderr}`);
  return lines[0]!;
}
