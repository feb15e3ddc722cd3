/**
 * `akb package --quantize --calib <dir>`: the edge models whose first input is an image ([N, 3, H, W]: the
 * encoder, the embedder) quantized with @akb/quantize for the profile (presetForProfile), each into a
 * staging folder with its card. @akb/quantize writes the card beside its output (card.json: size,
 * SHA-256, `quantization`, `derivedFrom`, measured quality); where it did not, one is derived here from
 * the source card (size, SHA-256, quantization, derivedFrom; the source's quality kept). Other models (the
 * policy, which takes a state vector, and the decoder, which only the cloud runs) stay as they are.
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AkbError, decodeMessage, encodeMessage, type DeviceProfile, type ModelCard } from '@akb/protocol';
import { hashFile } from './node-runtime.js';
import type { EdgeModel } from './models.js';
import type { ProgressFn } from './types.js';

function takesImage(card: ModelCard): boolean {
  const shape = card.inputs[0]?.shape;
  return card.role !== 'decoder' && shape?.length === 4 && shape[1] === 3;
}

export async function quantizeEdgeModels(
  profile: DeviceProfile,
  models: readonly EdgeModel[],
  calib: string,
  progress: ProgressFn,
): Promise<{ models: EdgeModel[]; cards: Map<string, Uint8Array>; notes: string[]; cleanup: () => Promise<void> }> {
  if (!(await stat(calib).then((s) => s.isDirectory(), () => false))) {
    throw new AkbError('BAD_OPTION', `--calib ${calib} is not a folder`, { hint: 'pass a folder of calibration images (e.g. models/samples/cifar10-test)', exitCode: 2 });
  }
  const { presetForProfile, quantizeModel } = await import('@akb/quantize');
  const preset = presetForProfile(profile);
  const staging = await mkdtemp(join(tmpdir(), 'akb-package-'));
  const cleanup = (): Promise<void> => rm(staging, { recursive: true, force: true });
  const cards = new Map<string, Uint8Array>();
  const notes: string[] = [];
  const out: EdgeModel[] = [];
  try {
    for (const m of models) {
      if (!takesImage(m.card) || m.card.quantization !== undefined) {
        out.push(m);
        continue;
      }
      progress(`quantizing ${m.name} (${preset.name} for ${profile.id})`);
      const dir = join(staging, m.name);
      const output = join(dir, m.card.onnx.file);
      await mkdir(dir, { recursive: true });
      await quantizeModel({ input: m.onnx, output, preset, calib, latencyRuns: 1 });
      const bytes = await cardFor(m, output, join(dir, 'card.json'), preset.cardPreset);
      const card = decodeMessage('model-card', bytes);
      cards.set(m.name, bytes);
      out.push({ ...m, card, onnx: output });
      notes.push(`${m.name}: ${preset.name}, ${m.card.onnx.sizeBytes} -> ${card.onnx.sizeBytes} bytes`);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { models: out, cards, notes, cleanup };
}

/** The card @akb/quantize wrote beside `output`, else one derived from the source card. */
async function cardFor(m: EdgeModel, output: string, cardPath: string, preset: string): Promise<Uint8Array> {
  const written = await readFile(cardPath).catch(() => undefined);
  if (written !== undefined) return written;
  const size = (await stat(output)).size;
  const card: ModelCard = {
    ...m.card,
    onnx: { ...m.card.onnx, sha256: await hashFile(output, 'sha256'), sizeBytes: size },
    quantization: preset as ModelCard['quantization'],
    derivedFrom: m.card.onnx.sha256,
  };
  return Buffer.from(`${encodeMessage('model-card', card)}\n`);
}
