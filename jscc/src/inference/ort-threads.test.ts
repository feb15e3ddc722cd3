import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ortNodeBackend } from './ort-node.js';
import { ortThreadOptions } from './ort-threads.js';

describe('AKB_ORT_THREADS', () => {
  it('unset or empty leaves onnxruntime to choose; n sets intra-op threads to n and inter-op to 1', () => {
    expect(ortThreadOptions({})).toEqual({});
    expect(ortThreadOptions({ AKB_ORT_THREADS: '' })).toEqual({});
    expect(ortThreadOptions({ AKB_ORT_THREADS: '1' })).toEqual({ intraOpNumThreads: 1, interOpNumThreads: 1 });
    expect(ortThreadOptions({ AKB_ORT_THREADS: ' 4 ' })).toEqual({ intraOpNumThreads: 4, interOpNumThreads: 1 });
  });

  it('refuses anything but an integer of at least 1 in one line, exit 1', () => {
    for (const bad of ['0', '-2', '1.5', 'two', '1e3']) {
      expect(() => ortThreadOptions({ AKB_ORT_THREADS: bad })).toThrow(`AKB_ORT_THREADS must be an integer of at least 1, got "${bad}"`);
    }
    try {
      ortThreadOptions({ AKB_ORT_THREADS: '0' });
    } catch (e) {
      expect(e).toMatchObject({ code: 'BAD_ENVIRONMENT', exitCode: 1 });
    }
  });

  it('ortNodeBackend takes it: a session runs with one thread, a bad value is refused before loading', async () => {
    const model = await readFile(fileURLToPath(new URL('../../../models/zoo/akb-dqn-policy/model.onnx', import.meta.url)));
    const saved = process.env.AKB_ORT_THREADS;
    try {
      process.env.AKB_ORT_THREADS = '1';
      const session = await ortNodeBackend().createSession(model);
      const out = await session.run({ [session.inputNames[0]!]: { data: new Float32Array(11), dims: [1, 11] } });
      expect(Object.values(out)[0]!.dims).toEqual([1, 15]);
      await session.release();
      process.env.AKB_ORT_THREADS = 'two';
      await expect(ortNodeBackend().createSession(model)).rejects.toMatchObject({ code: 'BAD_ENVIRONMENT' });
    } finally {
      if (saved === undefined) delete process.env.AKB_ORT_THREADS;
      else process.env.AKB_ORT_THREADS = saved;
    }
  });
});
