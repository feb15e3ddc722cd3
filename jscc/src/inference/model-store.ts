/**
 * Models are data: a folder holds `model.onnx` beside its `card.json` (the protocol's model-card schema).
 * Loading checks the card against its schema and the ONNX bytes against the card's SHA-256, so a
 * truncated or swapped file is refused with one line before any runtime sees it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError, decodeMessage, isAkbError, type ModelCard } from '@akb/protocol';

export interface LoadedModel {
  readonly dir: string;
  readonly card: ModelCard;
  readonly bytes: Uint8Array;
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const cardPath = join(dir, 'card.json');
  const card = await readOrExplain(cardPath, (bytes) => decodeMessage('model-card', bytes));
  const onnxPath = join(dir, card.onnx.file);
  const bytes = await readOrExplain(onnxPath, (b) => b);
  if (bytes.length !== card.onnx.sizeBytes) {
    throw new AkbError('MODEL_CORRUPT', `${onnxPath} has ${bytes.length} bytes, its card says ${card.onnx.sizeBytes}`, {
      hint: 'the file is truncated or was replaced; copy it again with its card',
    });
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== card.onnx.sha256) {
    throw new AkbError('MODEL_CORRUPT', `${onnxPath} does not match the SHA-256 in its card`, {
      hint: 'the file is corrupt or was replaced; copy it again with its card',
    });
  }
  return { dir, card, bytes };
}

async function readOrExplain<T>(path: string, parse: (bytes: Uint8Array) => T): Promise<T> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new AkbError('MODEL_MISSING', `cannot read ${path} (${code})`, {
      hint: 'a model folder holds model.onnx and card.json; reference models are under models/zoo/',
      cause: e,
    });
  }
  try {
    return parse(bytes);
  } catch (e) {
    if (isAkbError(e)) throw new AkbError('MODEL_CARD_INVALID', `${path}: ${e.message}`, { hint: 'see protocol/schema/model-card.schema.json', cause: e });
    throw e;
  }
}
