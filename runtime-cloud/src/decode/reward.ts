/**
 * The channel KB's reward, and how an intent becomes its weights.
 *
 *   reward = psnr − costUse · uses/256 − costPower · 10^(powerDb/10)      (akb-channel-kb, reward.formula)
 *
 * An intent states a quality floor and a bandwidth budget, not weights. `weightsForIntent` picks the
 * weights whose greedy policy over the channel KB's expected-PSNR table (argmax reward per SNR and
 * complexity bin, as an edge reads the table) best keeps the intent: the share of bins whose chosen action
 * fits the budget and reaches the floor, or, where no action does both, keeps the intent's priority.
 * Ties go to the weights closest to the channel KB's own (smallest |log| of the multipliers).
 */
import type { IntentMessage } from '@akb/protocol';
import type { ChannelKbTable, RateAction } from '@akb/jscc';

export interface RewardWeights {
  readonly costUse: number;
  readonly costPower: number;
}

export const DEFAULT_WEIGHTS: RewardWeights = { costUse: 1, costPower: 1 };

export function rewardFor(psnr: number, action: RateAction, w: RewardWeights): number {
  return psnr - (w.costUse * action.channelUses) / 256 - w.costPower * 10 ** (action.powerDb / 10);
}

/** Source values of one 32 x 32 RGB tile: a bandwidth ratio k/n times this is a channel-use budget. */
const TILE_VALUES = 3 * 32 * 32;
/** Multipliers tried on each base weight: 2^(k/2), k = -8..8 (1/16 to 16). */
const MULTIPLIERS = Array.from({ length: 17 }, (_, k) => 2 ** ((k - 8) / 2));

export interface IntentWeights {
  readonly weights: RewardWeights;
  /** Channel uses per tile the intent allows (Infinity: no limit the cloud can convert). */
  readonly budgetUses: number;
  /** Share of the channel KB's (SNR, complexity) bins where the greedy action keeps the intent, 0..1. */
  readonly kept: number;
}

export function weightsForIntent(intent: IntentMessage, table: ChannelKbTable | undefined, actions: readonly RateAction[]): IntentWeights {
  const base = table?.reward ?? DEFAULT_WEIGHTS;
  const b = intent.bandwidth;
  const budgetUses = Math.min(
    b.maxSymbolsPerFrame ?? Number.POSITIVE_INFINITY,
    b.maxBandwidthRatio !== undefined ? Math.floor(b.maxBandwidthRatio * TILE_VALUES) : Number.POSITIVE_INFINITY,
  );
  const floor = intent.quality.metric === 'psnr' ? intent.quality.min : Number.NEGATIVE_INFINITY;
  const baseWeights = { costUse: base.costUse, costPower: base.costPower };
  if (table === undefined || actions.length === 0) return { weights: baseWeights, budgetUses, kept: 0 };
  const cells = table.expectedPsnr.flatMap((bySnr) => bySnr);
  let best = { weights: baseWeights, kept: -1, distance: Number.POSITIVE_INFINITY };
  for (const mu of MULTIPLIERS) {
    for (const mp of MULTIPLIERS) {
      const w = { costUse: base.costUse * mu, costPower: base.costPower * mp };
      let kept = 0;
      for (const psnrs of cells) kept += keeps(psnrs, actions, w, budgetUses, floor, intent.priority) ? 1 : 0;
      const share = kept / Math.max(1, cells.length);
      const distance = Math.abs(Math.log(mu)) + Math.abs(Math.log(mp));
      if (share > best.kept + 1e-12 || (Math.abs(share - best.kept) <= 1e-12 && distance < best.distance)) {
        best = { weights: w, kept: share, distance };
      }
    }
  }
  return { weights: best.weights, budgetUses, kept: best.kept };
}

/** Whether the greedy action of one table cell keeps the intent (or its priority where nothing can). */
function keeps(psnrs: readonly number[], actions: readonly RateAction[], w: RewardWeights, budget: number, floor: number, priority: 'quality' | 'bandwidth'): boolean {
  let chosen = -1;
  let bestReward = Number.NEGATIVE_INFINITY;
  let anyBoth = false;
  actions.forEach((a, i) => {
    const psnr = psnrs[i] ?? Number.NEGATIVE_INFINITY;
    const r = rewardFor(psnr, a, w);
    if (r > bestReward) {
      bestReward = r;
      chosen = i;
    }
    if (a.channelUses <= budget && psnr >= floor) anyBoth = true;
  });
  const a = actions[chosen];
  if (a === undefined) return false;
  const fits = a.channelUses <= budget;
  const reaches = (psnrs[chosen] ?? Number.NEGATIVE_INFINITY) >= floor;
  if (anyBoth) return fits && reaches;
  return priority === 'bandwidth' ? fits : reaches;
}
