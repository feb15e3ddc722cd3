/**
 * Test helpers for the install agent: real bundles made with writeBundle and a test key (a payload shaped
 * like a slot's: launcher, bundled JavaScript, a model and its card, the profile), a tampered bundle (a
 * payload file that differs from its signed hash, in a well-formed archive), a listing of a folder with
 * every file's mode and SHA-256 (to compare a slot before and after), and a seeded random source.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { join, posix } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { AgentFs } from '../src/agent/fs.js';
import { writeBundle } from '../src/bundle/write.js';
import { gz, manifestFor, payloadEntries, rawTar, signedHead, type PayloadFile } from './craft.js';

/** Deterministic bytes (an xorshift stream) of `size`, different per `tag`. */
export function bytesOf(tag: string, size: number): Buffer {
  let x = createHash('sha256').update(tag).digest().readUInt32LE(0) | 1;
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The payload of a test bundle at `version` (about 200 KB, so a write spans several chunks). */
export function payloadOf(version: string): PayloadFile[] {
  return [
    { path: 'app/akb-edge.js', content: bytesOf(`edge-${version}`, 120_000) },
    { path: 'bin/akb-edge', content: Buffer.from('#!/bin/sh\nexec "$(dirname "$0")/../node/bin/node" "$(dirname "$0")/../app/akb-edge.js" "$@"\n') },
    { path: 'models/zoo/enc/card.json', content: Buffer.from(JSON.stringify({ name: 'enc', version })) },
    { path: 'models/zoo/enc/model.onnx', content: bytesOf(`model-${version}`, 80_000) },
    { path: 'profile.json', content: Buffer.from('{"id":"rpi-5"}\n') },
  ];
}

/** Writes a signed bundle of `payloadOf(version)` into `dir`; returns its path. */
export async function makeBundle(dir: string, key: KeyObject, version: string, targetProfiles = ['rpi-5']): Promise<string> {
  const out = join(dir, `akb-${version}-${targetProfiles.join('+')}.akb`);
  await writeBundle(out, {
    name: 'akb-edge-test',
    version,
    targetProfiles,
    created: new Date('2025-06-01T00:00:00Z'),
    runtime: { arch: 'arm64' },
    files: payloadOf(version).map((f) => ({
      path: f.path,
      role: 'other' as const,
      ...(f.path.startsWith('bin/') ? { mode: 0o755 } : {}),
      source: { bytes: f.content },
    })),
    key,
  });
  return out;
}

/** A well-formed, correctly signed bundle whose `models/zoo/enc/model.onnx` differs from its signed hash. */
export async function makeTamperedBundle(dir: string, key: KeyObject, version: string): Promise<string> {
  const files = payloadOf(version);
  const manifest = manifestFor(files, { name: 'akb-edge-test', version });
  const tampered = files.map((f) => (f.path.endsWith('model.onnx') ? { ...f, content: Buffer.from(f.content.map((b, i) => (i === 999 ? b ^ 1 : b))) } : f));
  const out = join(dir, `akb-${version}-tampered.akb`);
  await writeFile(out, gz(rawTar([...signedHead(manifest, key), ...payloadEntries(tampered)])));
  return out;
}

/** Every entry under `dir` (recursive): `file <mode> <size> <sha256>`, `dir`, or `link -> <target>`. */
export async function treeOf(fs: AgentFs, dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    const path = rel === '' ? dir : posix.join(dir, rel);
    const stat = await fs.stat(path);
    if (!stat) return;
    if (stat.kind === 'dir') {
      if (rel !== '') out[rel] = 'dir';
      for (const name of await fs.readdir(path)) await walk(rel === '' ? name : `${rel}/${name}`);
    } else if (stat.kind === 'symlink') {
      out[rel] = `link -> ${await fs.readlink(path)}`;
    } else if (stat.kind === 'file') {
      const hash = createHash('sha256');
      for await (const chunk of fs.readChunks(path)) hash.update(chunk);
      out[rel] = `file ${stat.mode.toString(8)} ${stat.size} ${hash.digest('hex')}`;
    } else {
      out[rel] = 'other';
    }
  };
  await walk('');
  return out;
}

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
