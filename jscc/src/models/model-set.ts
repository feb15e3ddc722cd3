/**
 * A model set names the models that work together (models/sets/<name>.json): an encoder and its decoder,
 * and for AKB-JSCC the embedder, the source KB, the DQN policy and the offline channel KB. Edge and cloud
 * load the same set; shapes and tensor names come from the model cards, never from code.
 *
 * Kinds:
 * - `deepjscc`: encoder and decoder; one action (every latent symbol at 0 dB).
 * - `akb`: the rate-agile AKB-JSCC: embedder, an embedding KB, DQN policy, channel KB; the policy's actions.
 * - `akb-fixed`: the fixed-rate AKB-JSCC (issue 15): encoder and decoder taking a prior, and a pixel KB
 *   (kb.json without keys.f32; the transmitter picks the prior of least pixel error); no embedder, policy
 *   or channel KB, one action (the card's whole latent at 0 dB, index uses included). `"prior":
 *   "global-mean"` makes the set its no-KB twin: no entry is ever chosen or sent, both ends use the KB's
 *   global mean (the default, `"kb-entry"`, sends the chosen entry).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { loadModel, type LoadedModel } from '../inference/model-store.js';
import { loadSourceKb, type SourceKb } from './source-kb.js';

export interface RateAction {
  readonly id: number;
  /** Complex channel uses of one 32x32 tile, index symbols included. */
  readonly channelUses: number;
  /** Transmit power relative to unit average power, dB. */
  readonly powerDb: number;
}

export interface ChannelKbTable {
  readonly snrBins: readonly number[];
  /** Upper edges between complexity bins (mean absolute gradient of the grey image). */
  readonly complexityEdges: readonly number[];
  /** [snrBin][complexityBin][action] */
  readonly expectedPsnr: readonly (readonly (readonly number[])[])[];
  readonly expectedReward: readonly (readonly (readonly number[])[])[];
  readonly reward: { costUse: number; costPower: number; lostFramePsnr: number };
}

export type ModelSetKind = 'akb' | 'akb-fixed' | 'deepjscc';
const KINDS: readonly ModelSetKind[] = ['akb', 'akb-fixed', 'deepjscc'];

export interface ModelSet {
  readonly name: string;
  readonly kind: ModelSetKind;
  readonly encoder: LoadedModel;
  readonly decoder: LoadedModel;
  readonly embedder?: LoadedModel;
  readonly kb?: SourceKb;
  /**
   * akb-fixed: whether frames send the chosen KB entry (`kb-entry`) or the set is a no-KB twin whose prior
   * is always the KB's global mean (`global-mean`). Absent for other kinds.
   */
  readonly prior?: 'kb-entry' | 'global-mean';
  readonly policy?: LoadedModel;
  readonly channelKb?: ChannelKbTable;
  /** The rate/power actions; a fixed model has one (its symbols at 0 dB). */
  readonly actions: readonly RateAction[];
  /** Latent complex symbols the encoder emits at most (from its card's output shape). */
  readonly maxSymbols: number;
}

interface SetJson {
  name: string;
  kind: ModelSetKind;
  encoder: string;
  decoder: string;
  embedder?: string;
  kb?: string;
  prior?: 'kb-entry' | 'global-mean';
  policy?: string;
  channelKb?: string;
}

/** Loads `models/sets/<set>.json` (or a path to such a file) against the zoo folder `zoo`. */
export async function loadModelSet(zoo: string, set: string): Promise<ModelSet> {
  const path = set.endsWith('.json') ? set : join(zoo, '..', 'sets', `${set}.json`);
  let spec: SetJson;
  try {
    spec = JSON.parse(await readFile(path, 'utf8')) as SetJson;
  } catch (e) {
    throw new AkbError('MODEL_SET_MISSING', `cannot read the model set ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      hint: 'pass --models <zoo folder> and --set <name> of a file in models/sets/',
      cause: e,
    });
  }
  if (typeof spec !== 'object' || spec === null || !KINDS.includes(spec.kind)) {
    throw new AkbError('MODEL_SET_INVALID', `${path}: "kind" must be one of ${KINDS.join(', ')}`);
  }
  for (const key of ['name', 'encoder', 'decoder'] as const) {
    if (typeof spec[key] !== 'string' || spec[key] === '') throw new AkbError('MODEL_SET_INVALID', `${path}: "${key}" must be a non-empty string`);
  }
  if (spec.kind !== 'akb-fixed' && spec.prior !== undefined) throw new AkbError('MODEL_SET_INVALID', `${path}: "prior" is for an akb-fixed set`);
  const [encoder, decoder] = await Promise.all([loadModel(join(zoo, spec.encoder)), loadModel(join(zoo, spec.decoder))]);
  const latent = encoder.card.outputs[0]?.shape[1];
  if (typeof latent !== 'number') throw new AkbError('MODEL_SET_INVALID', `${spec.encoder}: its card gives no fixed latent size`);
  const base = { name: spec.name, kind: spec.kind, encoder, decoder, maxSymbols: latent / 2 };
  if (spec.kind === 'deepjscc') {
    return { ...base, actions: [{ id: 0, channelUses: latent / 2, powerDb: 0 }] };
  }
  if (spec.kind === 'akb-fixed') return { ...base, ...(await fixedRateParts(zoo, path, spec)), actions: [{ id: 0, channelUses: latent / 2, powerDb: 0 }] };
  if (!spec.embedder || !spec.kb || !spec.policy || !spec.channelKb) {
    throw new AkbError('MODEL_SET_INVALID', `${path}: an akb set names embedder, kb, policy and channelKb`);
  }
  const [embedder, kb, policy, policyExport, channelKb] = await Promise.all([
    loadModel(join(zoo, spec.embedder)),
    loadSourceKb(join(zoo, spec.kb)),
    loadModel(join(zoo, spec.policy)),
    readJson<{ actions: { id: number; channel_uses: number; power_db: number }[] }>(join(zoo, spec.policy, 'export.json')),
    readChannelKb(join(zoo, spec.channelKb, 'channel_kb.json')),
  ]);
  const actions = policyExport.actions.map((a) => ({ id: a.id, channelUses: a.channel_uses, powerDb: a.power_db }));
  return { ...base, embedder, kb, policy, channelKb, actions };
}

/** The KB and prior rule of an akb-fixed set. */
async function fixedRateParts(zoo: string, path: string, spec: SetJson): Promise<{ kb: SourceKb; prior: 'kb-entry' | 'global-mean' }> {
  const named = (['embedder', 'policy', 'channelKb'] as const).filter((k) => spec[k] !== undefined);
  if (named.length > 0) throw new AkbError('MODEL_SET_INVALID', `${path}: an akb-fixed set has no ${named.join(', ')} (the KB entry is chosen in pixel space, the rate is fixed)`);
  if (typeof spec.kb !== 'string' || spec.kb === '') throw new AkbError('MODEL_SET_INVALID', `${path}: an akb-fixed set names its kb`);
  const prior = spec.prior ?? 'kb-entry';
  if (prior !== 'kb-entry' && prior !== 'global-mean') throw new AkbError('MODEL_SET_INVALID', `${path}: "prior" must be "kb-entry" or "global-mean"`);
  const kb = await loadSourceKb(join(zoo, spec.kb));
  if (prior === 'kb-entry' && kb.selection !== 'pixel') {
    throw new AkbError('MODEL_SET_INVALID', `${path}: ${spec.kb} is an embedding KB; an akb-fixed set picks entries in pixel space (a kb.json without keys.f32)`);
  }
  return { kb, prior };
}

async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    throw new AkbError('MODEL_SET_INVALID', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function readChannelKb(path: string): Promise<ChannelKbTable> {
  const j = await readJson<{
    snr_db_bins: number[];
    complexity_bins: { edges: number[] };
    expected_psnr: number[][][];
    expected_reward: number[][][];
    reward: { cost_use: number; cost_power: number; lost_frame_psnr?: number };
  }>(path);
  return {
    snrBins: j.snr_db_bins,
    complexityEdges: j.complexity_bins.edges,
    expectedPsnr: j.expected_psnr,
    expectedReward: j.expected_reward,
    reward: { costUse: j.reward.cost_use, costPower: j.reward.cost_power, lostFramePsnr: j.reward.lost_frame_psnr ?? 12.73 },
  };
}
