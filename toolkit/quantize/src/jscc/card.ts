/**
 * Recognizes a JSCC encoder or decoder by the model card beside it (`card.json`, the protocol's
 * model-card schema, role `encoder` or `decoder`) and finds its partner: the sibling folder whose name
 * swaps the `-enc` / `-dec` suffix (models/zoo/deepjscc-r12-snr7-enc ↔ deepjscc-r12-snr7-dec), or an
 * explicit partner path.
 */
import { access, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AkbError, decodeMessage, type ModelCard } from '@akb/protocol';

/** What the channel evaluation needs to know about a JSCC pair. */
export interface JsccModelInfo {
  /** The role of the model being quantized. */
  role: 'encoder' | 'decoder';
  encoderPath: string;
  decoderPath: string;
  encoderCard: ModelCard | undefined;
  decoderCard: ModelCard | undefined;
  /** The encoder's output carrying the channel symbols (interleaved I/Q). */
  encoderOutput: string;
  /** The decoder's input taking the received symbols. */
  latentInput: string;
  /** The decoder's output image (NCHW in [0, 1]). */
  imageOutput: string;
  /** SNRs (dB) to report PSNR at: the card's measured AWGN PSNR points, else -2..19 in steps of 3. */
  snrGrid: number[];
  /** The SNR a fixed-SNR model was trained at (channel SNR when the data gives none). */
  trainSnrDb: number | undefined;
  /** Range of the `snr_db` input of the encoder/decoder, when it has one. */
  snrInputRange: { min: number; max: number } | undefined;
}

export const DEFAULT_SNR_GRID = [-2, 1, 4, 7, 10, 13, 16, 19];

/** Reads and validates the card.json beside `modelPath`; undefined when there is none. */
export async function readCardBeside(modelPath: string): Promise<ModelCard | undefined> {
  const path = join(dirname(modelPath), 'card.json');
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  try {
    return decodeMessage('model-card', bytes);
  } catch (e) {
    throw new AkbError('BAD_MODEL_CARD', `${path} is not a valid model card: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}

/**
 * The JSCC pair `modelPath` belongs to, or undefined when its card does not say encoder or decoder (and
 * `partner` is not given). With `required`, a missing card or partner is a typed error instead.
 */
export async function findJscc(modelPath: string, opts: { partner?: string; required?: boolean } = {}): Promise<JsccModelInfo | undefined> {
  const card = await readCardBeside(modelPath);
  const role = card?.role === 'encoder' || card?.role === 'decoder' ? card.role : undefined;
  const fail = (why: string): undefined => {
    if (opts.required) throw new AkbError('NOT_JSCC', `${modelPath}: ${why}`, { hint: 'JSCC evaluation needs card.json beside the model (role encoder or decoder) and its partner' });
    return undefined;
  };
  if (role === undefined) return fail(card ? `its card's role is ${card.role}, not encoder or decoder` : 'no card.json beside it says it is a JSCC encoder or decoder');
  const partnerPath = opts.partner ?? (await siblingPartner(modelPath, role));
  if (partnerPath === undefined) return fail(`no ${role === 'encoder' ? 'decoder' : 'encoder'} found beside it (a sibling folder named with -${role === 'encoder' ? 'dec' : 'enc'})`);
  const partnerCard = await readCardBeside(partnerPath);
  const encoderCard = role === 'encoder' ? card : partnerCard;
  const decoderCard = role === 'decoder' ? card : partnerCard;
  const snrInput = (card?.inputs ?? []).find((i) => i.name === 'snr_db');
  return {
    role,
    encoderPath: role === 'encoder' ? modelPath : partnerPath,
    decoderPath: role === 'decoder' ? modelPath : partnerPath,
    encoderCard,
    decoderCard,
    encoderOutput: encoderCard?.outputs[0]?.name ?? 'latent',
    latentInput: decoderCard?.inputs.find((i) => i.name === 'latent')?.name ?? decoderCard?.inputs[0]?.name ?? 'latent',
    imageOutput: decoderCard?.outputs[0]?.name ?? 'image',
    snrGrid: snrGridOf(card),
    trainSnrDb: card?.training.trainSnrDb,
    snrInputRange: snrInput?.range ? { min: snrInput.range.min, max: snrInput.range.max } : undefined,
  };
}

/** The SNRs of the card's AWGN PSNR measurements, sorted; DEFAULT_SNR_GRID when it has none. */
export function snrGridOf(card: ModelCard | undefined): number[] {
  const snrs = new Set<number>();
  for (const q of card?.quality ?? []) if (q.metric === 'psnr' && (q.channel === undefined || q.channel === 'awgn')) snrs.add(q.snr);
  return snrs.size > 0 ? [...snrs].sort((a, b) => a - b) : [...DEFAULT_SNR_GRID];
}

async function siblingPartner(modelPath: string, role: 'encoder' | 'decoder'): Promise<string | undefined> {
  const folder = dirname(modelPath);
  const name = basename(folder);
  const [from, to] = role === 'encoder' ? ['-enc', '-dec'] : ['-dec', '-enc'];
  if (!name.endsWith(from)) return undefined;
  const candidate = join(dirname(folder), name.slice(0, -from.length) + to, basename(modelPath));
  try {
    await access(candidate);
    return candidate;
  } catch {
    return undefined;
  }
}
