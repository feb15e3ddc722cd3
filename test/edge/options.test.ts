/**
 * The built `akb-edge`'s options for an installed bundle (build first: npx tsc -b). Thrown at it: a
 * --profile path that does not exist, one that is not JSON, one that fails the schema, one past the size
 * limit, a folder; --backends with an unknown name, a name twice, an empty element, and the same through
 * AKB_BACKENDS; each refused in one line with exit 2 before any broker is tried. Accepted: a profile file
 * and a backend list from the environment (AKB_PROFILE, AKB_BACKENDS), said on stdout; a set JSON
 * outside the zoo whose model names resolve against --models.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelSet } from '@akb/jscc';
import { MAX_PROFILE_BYTES, parseBackends } from '../../runtime-edge/src/options.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const main = 'runtime-edge/dist/main.js';
const closedBroker = 'mqtt://127.0.0.1:1';

function edge(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [main, '--device', 'cam-opt', '--broker', closedBroker, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, AKB_PROFILE: '', AKB_BACKENDS: '', AKB_SET: '', ...env },
  });
}

function refusedInOneLine(r: ReturnType<typeof edge>, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stdout).toBe('');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'akb-edge-options-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('akb-edge --profile <file>', () => {
  it('takes a profile file (from AKB_PROFILE too) and names it', () => {
    const file = join(dir, 'board.profile.json');
    writeFileSync(file, readFileSync(join(root, 'devices/rpi/rpi-5.profile.json')));
    for (const r of [edge(['--profile', file]), edge([], { AKB_PROFILE: file })]) {
      expect(r.stdout).toContain(`akb-edge: profile rpi-5 (given: ${file}): backends onnxruntime-node-cpu > onnxruntime-web-wasm;`);
      // It got as far as the (closed) broker: the profile was accepted.
      expect(r.stderr).toMatch(/cannot connect to mqtt:\/\/127\.0\.0\.1:1/);
    }
  });

  it('refuses a missing file, a folder, non-JSON, a schema violation and an oversized file in one line, exit 2', () => {
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, 'board: pi\n'); // YAML, not JSON
    const partial = join(dir, 'partial.json');
    writeFileSync(partial, JSON.stringify({ v: 1, id: 'x' })); // most required fields missing
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, ' '.repeat(MAX_PROFILE_BYTES + 1)); // one byte past the limit
    refusedInOneLine(edge(['--profile', join(dir, 'absent.json')]), /^akb-edge: cannot read the device profile .*absent\.json \(ENOENT\)/);
    refusedInOneLine(edge(['--profile', `${dir}/`]), /^akb-edge: device profile .* is not a file/);
    refusedInOneLine(edge(['--profile', notJson]), /^akb-edge: device profile .*not-json\.json is invalid: /);
    refusedInOneLine(edge(['--profile', partial]), /^akb-edge: device profile .*partial\.json is invalid: .*required field is missing/);
    refusedInOneLine(edge(['--profile', huge]), new RegExp(`^akb-edge: device profile .*huge\\.json is ${MAX_PROFILE_BYTES + 1} bytes, more than the ${MAX_PROFILE_BYTES}`));
  });
});

describe('akb-edge --backends', () => {
  it("replaces the profile's order, from AKB_BACKENDS too", () => {
    const given = edge(['--profile', 'rpi-5', '--backends', 'onnxruntime-web-wasm']);
    expect(given.stdout).toContain('akb-edge: profile rpi-5 (given): backends onnxruntime-web-wasm; ');
    const fromEnv = edge(['--profile', 'rpi-5'], { AKB_BACKENDS: 'onnxruntime-web-wasm,onnxruntime-node-cpu' });
    expect(fromEnv.stdout).toContain('backends onnxruntime-web-wasm > onnxruntime-node-cpu; ');
  });

  it('refuses an unknown name, a name twice and an empty element in one line, exit 2', () => {
    // an unknown name; the same name twice; "a,,b" (an empty element); and an unknown name from the environment
    refusedInOneLine(edge(['--backends', 'onnxruntime-gpu']), /^akb-edge: --backends: unknown inference backend "onnxruntime-gpu" \(pass --backends with a comma-separated list of: onnxruntime-node-cpu, /);
    refusedInOneLine(edge(['--backends', 'onnxruntime-web-wasm,onnxruntime-web-wasm']), /^akb-edge: --backends: onnxruntime-web-wasm is named twice/);
    refusedInOneLine(edge(['--backends', 'onnxruntime-node-cpu,,onnxruntime-web-wasm']), /^akb-edge: --backends: unknown inference backend ""/);
    refusedInOneLine(edge([], { AKB_BACKENDS: 'tensorflow' }), /^akb-edge: --backends: unknown inference backend "tensorflow"/);
  });

  it('parses lists with spaces and treats an empty value as "the profile\'s order"', () => {
    expect(parseBackends(' onnxruntime-web-wasm , onnxruntime-node-cpu ')).toEqual(['onnxruntime-web-wasm', 'onnxruntime-node-cpu']);
    expect(parseBackends('')).toBeUndefined();
    expect(parseBackends(undefined)).toBeUndefined();
  });
});

describe('--set <file> with --models <zoo>', () => {
  it("a set JSON outside the zoo loads its models by name from the zoo given (a bundle's models/sets and models/zoo)", async () => {
    const setFile = join(dir, 'my-set.json');
    writeFileSync(setFile, readFileSync(join(root, 'models/sets/deepjscc-r12-snr10.json')));
    const set = await loadModelSet(join(root, 'models/zoo'), setFile);
    expect(set.name).toBe('deepjscc-r12-snr10');
    expect(set.encoder.card.name).toBe('deepjscc-r12-snr10-enc');
  });
});
