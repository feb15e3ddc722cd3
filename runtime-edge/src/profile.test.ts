/**
 * The profile decides the edge's backends and batch. Thrown at it: a Jetson profile on a machine whose
 * TensorRT and CUDA backends cannot load (recorded by a registry whose backends log every attempt), a
 * WASM-only profile, memory on both sides of the batch rule, and user overrides.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProfileCatalogue } from '@akb/devices';
import { AkbError } from '@akb/protocol';
import { BackendRegistry, loadModelSet, ortNodeBackend, type BackendName, type InferenceBackend } from '@akb/jscc';
import { LinkBase, type LinkCapabilities } from '@akb/link';
import { EdgePipeline } from './pipeline/pipeline.js';
import { BATCH_BY_MEMORY, describeProfile, edgeBackends, edgeLimits } from './profile.js';

const zoo = fileURLToPath(new URL('../../models/zoo', import.meta.url));

class NullLink extends LinkBase {
  readonly name = 'null';
  readonly capabilities: LinkCapabilities = { mtu: 1024, dtypes: ['float32'] };
  // eslint-disable-next-line @typescript-eslint/require-await -- the driver interface is async
  async send(fragments: readonly Uint8Array[]): Promise<void> {
    this.check(fragments);
  }
  async close(): Promise<void> {}
}

/** A registry whose backends record each attempt: GPU ones fail as on a machine without their libraries, the CPU one runs. */
function recordingRegistry(attempts: BackendName[]): BackendRegistry {
  const failing = (name: BackendName): InferenceBackend => ({
    name,
    createSession: () => {
      attempts.push(name);
      return Promise.reject(new AkbError('BACKEND_UNAVAILABLE', `${name}: no such library here`));
    },
  });
  const cpu = ortNodeBackend('onnxruntime-node-cpu');
  return new BackendRegistry()
    .register(failing('onnxruntime-node-tensorrt'))
    .register(failing('onnxruntime-node-cuda'))
    .register(failing('onnxruntime-web-wasm'))
    .register({
      name: 'onnxruntime-node-cpu',
      createSession: (model) => {
        attempts.push('onnxruntime-node-cpu');
        return cpu.createSession(model);
      },
    });
}

describe('edge limits from the device profile', async () => {
  const catalogue = await ProfileCatalogue.load();

  it("takes the profile's backends in order and the batch its memory allows; threads only when asked", () => {
    expect(edgeLimits(catalogue.get('jetson-orin-nano'))).toEqual({
      backends: ['onnxruntime-node-tensorrt', 'onnxruntime-node-cuda', 'onnxruntime-node-cpu'],
      threads: undefined,
      maxBatch: 32,
    });
    expect(edgeLimits(catalogue.get('rpi-3'))).toEqual({ backends: ['onnxruntime-web-wasm'], threads: undefined, maxBatch: 16 });
    expect(edgeLimits(catalogue.get('rpi-4-arm64'))).toMatchObject({ backends: ['onnxruntime-node-cpu', 'onnxruntime-web-wasm'], maxBatch: 32 });
    expect(edgeLimits(catalogue.get('generic-x64'))).toMatchObject({ backends: ['onnxruntime-node-cpu', 'onnxruntime-web-wasm'], maxBatch: 16 });
  });

  it('lets flags override the threads and the batch', () => {
    expect(edgeLimits(catalogue.get('generic-x64'), { threads: 1, maxBatch: 48 })).toMatchObject({ threads: 1, maxBatch: 48 });
  });

  it('covers every memory size with the batch rule, smaller memory never getting a larger batch', () => {
    expect(BATCH_BY_MEMORY.at(-1)!.belowMb).toBe(Number.POSITIVE_INFINITY);
    for (let i = 1; i < BATCH_BY_MEMORY.length; i++) {
      expect(BATCH_BY_MEMORY[i]!.belowMb).toBeGreaterThan(BATCH_BY_MEMORY[i - 1]!.belowMb);
      expect(BATCH_BY_MEMORY[i]!.maxBatch).toBeGreaterThanOrEqual(BATCH_BY_MEMORY[i - 1]!.maxBatch);
    }
    for (const p of catalogue.profiles) expect(edgeLimits(p).maxBatch, p.id).toBeGreaterThan(0);
  });

  it('says in one line which profile, how it was chosen, and what it set', () => {
    const limits = edgeLimits(catalogue.get('generic-x64'));
    expect(describeProfile({ id: 'generic-x64', choice: 'generic', reason: 'generic-x64 (generic for x64: no board detected)', limits })).toBe(
      "profile generic-x64 (generic for x64: no board detected): backends onnxruntime-node-cpu > onnxruntime-web-wasm; 16 tiles per model run; onnxruntime's threads",
    );
    expect(describeProfile({ id: 'rpi-5', choice: 'given', reason: 'rpi-5 (given)', limits: edgeLimits(catalogue.get('rpi-5'), { threads: 1 }) })).toMatch(/; 32 tiles per model run; 1 thread$/);
  });

  it('knows no board by name: no if/else over boards anywhere in the edge', async () => {
    const src = fileURLToPath(new URL('.', import.meta.url));
    const words = new Set(['jetson', 'raspberry', 'rpi', 'orin', 'xavier', 'tegra', ...catalogue.ids]);
    const offenders: string[] = [];
    for (const entry of await readdir(src, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
      const path = join(entry.parentPath, entry.name);
      const text = (await readFile(path, 'utf8')).toLowerCase();
      for (const word of words) if (new RegExp(`\\b${word}\\b`).test(text)) offenders.push(`${path.slice(src.length)}: ${word}`);
    }
    expect(offenders).toEqual([]);
  });

  it('registers every backend akb ships', () => {
    expect(edgeBackends().names.sort()).toEqual(['onnxruntime-node-cpu', 'onnxruntime-node-cuda', 'onnxruntime-node-tensorrt', 'onnxruntime-web-wasm']);
  });

  it("hands the profile's order to the registry for every model: TensorRT, then CUDA, then the CPU that loads", async () => {
    const attempts: BackendName[] = [];
    const set = await loadModelSet(zoo, 'akb-k256');
    const limits = edgeLimits(catalogue.get('jetson-orin-nano'));
    const pipeline = await EdgePipeline.create({
      deviceId: 'orin-1', set, link: new NullLink(), backends: recordingRegistry(attempts), backendOrder: limits.backends, maxBatch: limits.maxBatch,
    });
    try {
      const round = ['onnxruntime-node-tensorrt', 'onnxruntime-node-cuda', 'onnxruntime-node-cpu'];
      expect(attempts).toEqual([...round, ...round, ...round]); // encoder, embedder, DQN
      expect(pipeline.backends).toEqual({ encoder: 'onnxruntime-node-cpu', embedder: 'onnxruntime-node-cpu', policy: 'onnxruntime-node-cpu' });
      expect(pipeline.set.encoder.bytes.length).toBe(0); // the sessions hold the weights; the ONNX bytes are let go
      expect(set.encoder.bytes.length).toBeGreaterThan(0);
    } finally {
      await pipeline.close();
    }
  });

  it('reports every failure at once when no backend of a WASM-only profile loads', async () => {
    const attempts: BackendName[] = [];
    const set = await loadModelSet(zoo, 'deepjscc-r12-snr7');
    const limits = edgeLimits(catalogue.get('rpi-4-armhf'));
    await expect(EdgePipeline.create({ deviceId: 'pi-1', set, link: new NullLink(), backends: recordingRegistry(attempts), backendOrder: limits.backends })).rejects.toMatchObject({
      code: 'NO_BACKEND',
      message: expect.stringContaining('onnxruntime-web-wasm: onnxruntime-web-wasm: no such library here') as string,
    });
    expect(attempts).toEqual(['onnxruntime-web-wasm']);
  });
});
