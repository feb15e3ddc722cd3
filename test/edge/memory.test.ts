/**
 * The built `akb-edge --once` (bin/akb-edge, default configuration: no --profile, no --max-batch) on four
 * large photographs of odd size, two of them 1-channel grayscale PNG, against the peak resident memory
 * that runtime-edge/README.md documents for photographs. Build first (npx tsc -b).
 *
 * A memory bound, not a timing: the run may take as long as the machine needs. Measured on these four:
 * 154-165 MiB; without the garbage gate (AKB_EDGE_NODE_OPTIONS=--max-semi-space-size=1) 183-203 MiB;
 * the edge before the fix (the pump decoding the next file while this one's pixels were held, no gate)
 * 202-219 MiB on the first two alone. The bound is 175 MiB.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { MEMORY_IMAGES, edgeMemoryImages, pngHeader } from './images.js';

/** runtime-edge/README.md, "Memory": the bound for photographs up to 1.6 Mpixel, in MiB as akb-edge prints it. */
export const PHOTO_PEAK_LIMIT_MIB = 175;
const PHOTOS = ['a-1531x1023.png', 'b-1531x1023-grey.png', 'c-1023x1531.png', 'h-1531x1021-grey.png'];

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'runtime-edge/bin/akb-edge');

function runOnce(brokerUrl: string, dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = ['--device', uniqueId('mem').replace(/[^A-Za-z0-9._-]/g, ''), '--broker', brokerUrl, '--models', 'models/zoo', '--set', 'akb-k256'];
  const child = spawn(bin, [...args, '--images', dir, '--link', 'emulated', '--once', '--telemetry-ms', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let broker: AedesHandle;
let dir: string;
beforeAll(async () => {
  if (!existsSync(join(root, 'runtime-edge/dist/main.js'))) throw new Error('runtime-edge is not built: run npx tsc -b first');
  dir = mkdtempSync(join(tmpdir(), 'akb-edge-memory-'));
  const photos = MEMORY_IMAGES.filter((m) => PHOTOS.includes(m.name));
  await edgeMemoryImages(dir, photos);
  for (const m of photos) {
    expect(pngHeader(readFileSync(join(dir, m.name))), m.name).toEqual({ width: m.width, height: m.height, colorType: m.grayscale ? 0 : 2 });
  }
  broker = await startAedes();
}, 120_000);
afterAll(async () => {
  await broker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('akb-edge memory', () => {
  it(`sends four photographs of ~1.5 Mpixel, odd sizes, colour and grayscale, under ${PHOTO_PEAK_LIMIT_MIB} MiB peak resident memory`, async () => {
    const r = await runOnce(broker.url, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: 4 sent, 0 corrupt, 0 failed\n/);
    for (const name of PHOTOS) expect(r.stdout).toMatch(new RegExp(`sent ${name.replace('.', '\\.')}: 1536 tiles`));
    const peak = Number(/peak resident memory ([\d.]+) MiB/.exec(r.stdout)?.[1]);
    expect(peak).toBeGreaterThan(0);
    process.stdout.write(`akb-edge peak resident memory on four ~1.5 Mpixel photographs: ${peak} MiB (limit ${PHOTO_PEAK_LIMIT_MIB})\n`);
    expect(peak).toBeLessThan(PHOTO_PEAK_LIMIT_MIB);
  }, 600_000);
});
