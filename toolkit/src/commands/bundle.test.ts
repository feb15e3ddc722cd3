/**
 * `akb keys generate` and `akb bundle inspect|verify` as users run them: the built launcher in a child
 * process, on real key files and real bundles (written by @akb/flash), honest and damaged.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPrivateKey, writeBundle } from '@akb/flash';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const akb = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, AKB_DEBUG: '' } });
const tempDir = (tag: string): string => mkdtempSync(join(tmpdir(), `akb-cli-${tag}-`));

/** A key pair made by the CLI and a small bundle signed with it. */
async function fixture(): Promise<{ dir: string; bundle: string; pub: string; keyId: string }> {
  const dir = tempDir('bundle');
  const r = akb('keys', 'generate', '--out', join(dir, 'keys'), '--name', 'release', '--json');
  expect(r.status, r.stderr).toBe(0);
  const made = JSON.parse(r.stdout) as { privateKey: string; publicKey: string; keyId: string };
  const bundle = join(dir, 'b.akb');
  await writeBundle(bundle, {
    name: 'akb-edge-rpi-5',
    version: '1.0.0',
    targetProfiles: ['rpi-5'],
    created: new Date('2025-01-01T00:00:00Z'),
    runtime: { arch: 'arm64' },
    key: await loadPrivateKey(made.privateKey),
    files: [
      { path: 'models/zoo/enc/model.onnx', role: 'model', source: { bytes: Buffer.alloc(4000, 1) } },
      { path: 'profile.json', role: 'config', source: { bytes: Buffer.from('{}') } },
    ],
  });
  return { dir, bundle, pub: made.publicKey, keyId: made.keyId };
}

describe('akb keys generate', () => {
  it('prints the key id and the paths, and refuses to overwrite in one line', () => {
    const dir = tempDir('keys');
    const r = akb('keys', 'generate', '--out', dir, '--name', 'k');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^key id {3}[0-9a-f]{64}$/m);
    expect(r.stdout).toContain(join(dir, 'k.pub'));
    // thrown: the same name again
    const again = akb('keys', 'generate', '--out', dir, '--name', 'k');
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^akb: .*k\.key already exists.*\n$/);
  });
});

describe('akb bundle', () => {
  it('verify: one "ok" line, exit 0, with a trusted key (file or folder); --json says ok', async () => {
    const f = await fixture();
    const r = akb('bundle', 'verify', f.bundle, '--trust', f.pub);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok akb-edge-rpi-5 1\.0\.0 for rpi-5 \(arm64\): 2 files, 4002 bytes, signed by [0-9a-f]{16} .*, sha256 [0-9a-f]{64}\n$/);
    const j = akb('bundle', 'verify', f.bundle, '--trust', join(f.dir, 'keys'), '--json');
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, keyId: f.keyId, signature: 'verified', files: 2 });
  });

  it('inspect: the summary, and whether the signer is trusted', async () => {
    const f = await fixture();
    const trusted = akb('bundle', 'inspect', f.bundle, '--trust', f.pub, '--json');
    expect(JSON.parse(trusted.stdout)).toMatchObject({ name: 'akb-edge-rpi-5', roles: { model: { files: 1, bytes: 4000 } }, signature: 'verified' });
    const plain = akb('bundle', 'inspect', f.bundle);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain('NOT TRUSTED');
    expect(plain.stdout).toMatch(/^profiles {2}rpi-5$/m);
  });

  it('verify refuses in one line, exit 1: an untrusted key, a damaged bundle, not a bundle, an RSA key as trusted', async () => {
    const f = await fixture();
    const other = tempDir('other');
    akb('keys', 'generate', '--out', other, '--name', 'x');
    const damaged = join(f.dir, 'damaged.akb');
    const bytes = readFileSync(f.bundle);
    writeFileSync(damaged, bytes.subarray(0, bytes.length - 20));
    const rsaPub = join(f.dir, 'rsa.pub');
    const { generateKeyPairSync } = await import('node:crypto');
    writeFileSync(rsaPub, generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }));
    const cases: [string, string[], RegExp][] = [
      // thrown: a bundle signed by a key the verifier does not trust
      ['untrusted', [f.bundle, '--trust', join(other, 'x.pub')], /signed by key .* not among/],
      // thrown: the bundle with its last 20 bytes cut off
      ['truncated', [damaged, '--trust', f.pub], /ends early/],
      // thrown: a public key file passed as the bundle
      ['not a bundle', [f.pub, '--trust', f.pub], /not gzip-compressed/],
      // thrown: an RSA public key as the trusted key
      ['rsa key', [f.bundle, '--trust', rsaPub], /rsa key, not Ed25519/],
    ];
    for (const [what, args, message] of cases) {
      const r = akb('bundle', 'verify', ...args);
      expect(r.status, what).toBe(1);
      expect(r.stdout, what).toBe('');
      expect(r.stderr, what).toMatch(/^akb: [^\n]+\n$/);
      expect(r.stderr, what).toMatch(message);
    }
  });
});
