/**
 * A model set names the models that work together (models/sets/<name>.json): an encoder and its decoder,
 * and for AKB-JSCC the embedder, the source KB, the DQN policy and the offline channel KB. Edge and cloud
 * load the same set; shapes and tensor names come from the model cards, never from code.
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

export interface ModelSet {
  readonly name: string;
  readonly kind: 'akb' | 'deepjscc';
  readonly encoder: LoadedModel;
  readonly decoder: LoadedModel;
  readonly embedder?: LoadedModel;
  readonly kb?: SourceKb;
  readonly policy?: LoadedModel;
  readonly channelKb?: ChannelKbTable;
  /** The rate/power actions; a fixed model has one (its symbols at 0 dB). */
  readonly actions: readonly RateAction[];
  /** Latent complex symbols the encoder emits at most (from its card's output shape). */
  readonly maxSymbols: number;
}

interface SetJson {
  name: string;
  kind: 'akb' | 'deepjscc';
  encoder: string;
  decoder: string;
  embedder?: string;
  kb?: string;
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
  const [encoder, decoder] = await Promise.all([loadModel(join(zoo, spec.encoder)), loadModel(join(zoo, spec.decoder))]);
  const latent = encoder.card.outputs[0]?.shape[1];
  if (typeof latent !== 'number') throw new AkbError('MODEL_SET_INVALID', `${spec.encoder}: its card gives no fixed latent size`);
  const base = { name: spec.name, kind: spec.kind, encoder, decoder, maxSymbols: latent / 2 };
  if (spec.kind === 'deepjscc') {
    return { ...base, actions: [{ id: 0, channelUses: latent / 2, powerDb: 0 }] };
  }
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
