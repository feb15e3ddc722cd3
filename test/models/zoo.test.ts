/**
 * Catalogue-wide checks of the reference models: every folder under models/zoo with an ONNX file has a
 * card that validates, matches its bytes (SHA-256, size), stays under 8 MB, and loads in onnxruntime-node
 * on the CPU with exactly the inputs and outputs its card names.
 */
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel, ortNodeBackend } from '@akb/jscc';

const zoo = fileURLToPath(new URL('../../models/zoo/', import.meta.url));
const folders: string[] = [];
for (const name of (await readdir(zoo)).sort()) {
  const files = await readdir(join(zoo, name));
  if (files.includes('model.onnx')) folders.push(name);
}

describe('models/zoo', () => {
  it('holds the reference models', () => {
    expect(folders.length).toBeGreaterThanOrEqual(29);
  });

  for (const name of folders) {
    it(`${name}: card valid, bytes match, < 8 MB, loads with the card's tensor names`, async () => {
      const model = await loadModel(join(zoo, name));
      expect(model.card.name).toBe(name);
      expect(model.card.onnx.opset).toBeGreaterThanOrEqual(13);
      expect(model.bytes.length).toBeLessThan(8 * 1024 * 1024);
      const session = await ortNodeBackend().createSession(model.bytes);
      try {
        expect([...session.inputNames].sort()).toEqual(model.card.inputs.map((t) => t.name).sort());
        expect([...session.outputNames].sort()).toEqual(model.card.outputs.map((t) => t.name).sort());
      } finally {
        await session.release();
      }
    });
  }
});

describe('loading a damaged model folder', () => {
  async function copyOf(name: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'akb-model-'));
    for (const f of ['model.onnx', 'card.json']) await copyFile(join(zoo, name, f), join(dir, f));
    return dir;
  }

  it('refuses a truncated ONNX file before any runtime sees it', async () => {
    // Thrown at it: the model cut to half its length.
    const dir = await copyOf('deepjscc-r12-snr7-enc');
    const bytes = await readFile(join(dir, 'model.onnx'));
    await writeFile(join(dir, 'model.onnx'), bytes.subarray(0, bytes.length >> 1));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
  });

  it('refuses a same-size file with flipped bytes', async () => {
    const dir = await copyOf('deepjscc-r12-snr7-enc');
    const bytes = Buffer.from(await readFile(join(dir, 'model.onnx')));
    bytes[1000] = bytes[1000]! ^ 0xff;
    await writeFile(join(dir, 'model.onnx'), bytes);
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
  });

  it('refuses a card that is not a model card, and a missing folder, each in one line', async () => {
    const dir = await copyOf('deepjscc-r12-snr7-enc');
    await writeFile(join(dir, 'card.json'), '{"v": 1, "name": "x"}');
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_CARD_INVALID' });
    await expect(loadModel(join(dir, 'nope'))).rejects.toMatchObject({ code: 'MODEL_MISSING' });
  });
});
