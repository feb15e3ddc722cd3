/**
 * `akb package` refuses bad input with one line on stderr and a non-zero exit, writing no bundle and
 * leaving nothing behind in the output folder. What each test throws is said in its name; the model sets
 * are copies of models/sets/deepjscc-r12-snr10 (1.2 + 1.4 MB) in a temporary zoo, altered per case.
 */
import { generateKeyPairSync, createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine, root, runAkb, workDir } from './helpers.js';

let work: { dir: string; key: string; pub: string };
let out: string;
const SET = 'deepjscc-r12-snr10';
const ENC = `${SET}-enc`;

/** A zoo and sets folder (<dir>/zoo, <dir>/sets) holding the reference set, for one case to alter. */
async function fixture(name: string): Promise<{ zoo: string; set: string; enc: string }> {
  const base = join(work.dir, name);
  await mkdir(join(base, 'sets'), { recursive: true });
  for (const m of [ENC, `${SET}-dec`]) await cp(join(root, 'models', 'zoo', m), join(base, 'zoo', m), { recursive: true });
  await cp(join(root, 'models', 'sets', `${SET}.json`), join(base, 'sets', `${SET}.json`));
  return { zoo: join(base, 'zoo'), set: join(base, 'sets', `${SET}.json`), enc: join(base, 'zoo', ENC) };
}

function pack(profile: string, set: string, extra: string[] = [], key = work.key) {
  return runAkb(['package', '--profile', profile, '--set', set, '--key', key, '-o', join(out, 'x.akb'), '--no-node', ...extra]);
}

async function expectNothingWritten(): Promise<void> {
  expect(await readdir(out)).toEqual([]);
}

beforeAll(async () => {
  work = await workDir('package-bad');
  out = join(work.dir, 'out');
  await mkdir(out);
});
afterAll(async () => {
  if (work) await rm(work.dir, { recursive: true, force: true });
});

describe('akb package refuses', () => {
  it('an unknown profile id (rpi-9): exit 2, naming the known ids', async () => {
    const r = pack('rpi-9', SET);
    expect(r.status).toBe(2);
    expect(oneLine(r)).toMatch(/^akb: unknown device profile "rpi-9".*rpi-5/);
    await expectNothingWritten();
  });

  it('a model set that does not exist (--set no-such-set)', async () => {
    const r = pack('generic-x64', 'no-such-set');
    expect(r.status).not.toBe(0);
    expect(oneLine(r)).toMatch(/no model set .*no-such-set\.json/);
    await expectNothingWritten();
  });

  it('a set naming a model folder that is missing (the encoder folder deleted)', async () => {
    const f = await fixture('missing-model');
    await rm(f.enc, { recursive: true });
    const r = pack('generic-x64', f.set);
    expect(oneLine(r)).toMatch(new RegExp(`model ${ENC}: no .*card\\.json`));
    await expectNothingWritten();
  });

  it('a model whose bytes differ from its card (one byte flipped in model.onnx)', async () => {
    const f = await fixture('flipped');
    const onnx = join(f.enc, 'model.onnx');
    const bytes = await readFile(onnx);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(onnx, bytes);
    const r = pack('generic-x64', f.set);
    expect(oneLine(r)).toMatch(/does not match the SHA-256 in its card/);
    await expectNothingWritten();
  });

  it('a truncated model (model.onnx cut to 1000 bytes)', async () => {
    const f = await fixture('truncated');
    await truncate(join(f.enc, 'model.onnx'), 1000);
    const r = pack('generic-x64', f.set);
    expect(oneLine(r)).toMatch(/has 1000 bytes, its card says \d+/);
    await expectNothingWritten();
  });

  it('an fp16 model for a profile without a GPU backend (card marked fp16, packaged for rpi-3, WASM only)', async () => {
    const f = await fixture('fp16');
    const cardPath = join(f.enc, 'card.json');
    const card = JSON.parse(await readFile(cardPath, 'utf8')) as Record<string, unknown>;
    await writeFile(cardPath, JSON.stringify({ ...card, quantization: 'fp16' }));
    const r = pack('rpi-3', f.set);
    expect(oneLine(r)).toMatch(new RegExp(`${ENC} is fp16 and rpi-3 has no GPU backend`));
    await expectNothingWritten();
  });

  it('models over the memory budget (a 65 MiB encoder for generic-armv7: 512 MiB / 8 = 64 MiB)', async () => {
    const f = await fixture('too-large');
    const onnx = join(f.enc, 'model.onnx');
    const size = 65 * 2 ** 20;
    await writeFile(onnx, Buffer.alloc(0));
    await truncate(onnx, size);
    const sha = createHash('sha256').update(Buffer.alloc(size)).digest('hex');
    const cardPath = join(f.enc, 'card.json');
    const card = JSON.parse(await readFile(cardPath, 'utf8')) as { onnx: Record<string, unknown> };
    await writeFile(cardPath, JSON.stringify({ ...card, onnx: { ...card.onnx, sha256: sha, sizeBytes: size } }));
    const r = pack('generic-armv7', f.set);
    expect(oneLine(r)).toMatch(/the edge models are 66\.\d MiB; generic-armv7 \(512 MiB\) allows 64\.0 MiB/);
    await expectNothingWritten();
  });

  it('a signing key that is not Ed25519 (an RSA private key in PKCS#8 PEM)', async () => {
    const rsa = join(work.dir, 'rsa.key');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(rsa, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const r = pack('generic-x64', SET, [], rsa);
    expect(r.status).not.toBe(0);
    expect(oneLine(r)).toMatch(/ed25519/i);
    await expectNothingWritten();
  });

  it('--quantize without --calib: exit 2', async () => {
    const r = pack('generic-x64', SET, ['--quantize']);
    expect(r.status).toBe(2);
    expect(oneLine(r)).toMatch(/--quantize needs --calib/);
    await expectNothingWritten();
  });

  it('a Node.js runtime that is not one (--node <folder> whose bin/node is a shell script)', async () => {
    const fake = join(work.dir, 'fake-node');
    await mkdir(join(fake, 'bin'), { recursive: true });
    await writeFile(join(fake, 'bin', 'node'), '#!/bin/sh\necho v20.20.2\n', { mode: 0o755 });
    const r = runAkb(['package', '--profile', 'generic-x64', '--set', SET, '--key', work.key, '-o', join(out, 'x.akb'), '--node', fake]);
    expect(oneLine(r)).toMatch(/is not an ELF executable/);
    await expectNothingWritten();
  });

  it("a Node.js runtime for another CPU (this machine's x64 node for rpi-5)", async () => {
    const r = runAkb(['package', '--profile', 'rpi-5', '--set', SET, '--key', work.key, '-o', join(out, 'x.akb'), '--node', join(process.execPath, '..', '..')]);
    expect(oneLine(r)).toMatch(/built for ELF machine 0x3e, not arm64/);
    await expectNothingWritten();
  });
});
