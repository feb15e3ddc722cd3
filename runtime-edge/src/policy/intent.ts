/**
 * Intents reach the policy through the `intent.set` command. Two forms of `args` are taken:
 *
 * - a protocol `intent` (PROTOCOL.md): its bandwidth limits become a ceiling on the channel uses of a
 *   tile (maxSymbolsPerFrame; maxBandwidthRatio times the 3·tile² source values), its PSNR target a
 *   floor on the expected PSNR. Under priority "bandwidth" the ceiling always holds and the floor only
 *   narrows the choice when some action meets both; under "quality" the floor wins. maxBytesPerSecond
 *   and SSIM targets are not per-frame limits and are reported as not enforced.
 * - the edge's reward weights, `{"v": 1, "reward": {"costUse": …, "costPower": …}}` (either key may be
 *   left out): the reward the channel KB learns from becomes psnr − costUse·uses/256 − costPower·10^(dB/10).
 */
import { AkbError, validateMessage, type IntentMessage } from '@akb/protocol';

export interface RewardWeights {
  /** dB of PSNR per 256 channel uses. */
  readonly costUse: number;
  /** dB of PSNR per unit of linear transmit power. */
  readonly costPower: number;
}

export interface PolicyConstraints {
  readonly id?: string;
  /** Most channel uses a tile may take (index uses included). */
  readonly maxUses?: number;
  /**
   * Most channel uses the link carries within a tile's time budget (link-ceiling.ts). It holds whatever
   * the priority: with maxUses the smaller wins, and a quality floor only narrows the choice within it.
   */
  readonly linkMaxUses?: number;
  /** Smallest expected PSNR, dB. */
  readonly minPsnr?: number;
  readonly priority: 'quality' | 'bandwidth';
  /** Epoch ms after which the constraints lapse. */
  readonly expires?: number;
}

export type IntentUpdate =
  | { kind: 'constraints'; constraints: PolicyConstraints; notEnforced: string[] }
  | { kind: 'weights'; weights: Partial<RewardWeights> }
  /** An intent for other devices (another device id, or profiles this device does not run). */
  | { kind: 'not-for-me' };

export function parseIntentArgs(args: unknown, self: { deviceId: string; profile: string; tileSide: number }): IntentUpdate {
  if (typeof args === 'object' && args !== null && 'reward' in args) return { kind: 'weights', weights: parseWeights(args) };
  const intent = validateMessage('intent', args);
  if (intent.target.scope === 'device' && intent.target.device !== self.deviceId) return { kind: 'not-for-me' };
  if (intent.target.scope === 'fleet' && intent.target.profiles && !intent.target.profiles.includes(self.profile)) return { kind: 'not-for-me' };
  return constraintsFromIntent(intent, self.tileSide);
}

export function constraintsFromIntent(intent: IntentMessage, tileSide: number): IntentUpdate & { kind: 'constraints' } {
  const notEnforced: string[] = [];
  const { maxSymbolsPerFrame, maxBandwidthRatio, maxBytesPerSecond } = intent.bandwidth;
  const ceilings: number[] = [];
  if (maxSymbolsPerFrame !== undefined) ceilings.push(maxSymbolsPerFrame);
  if (maxBandwidthRatio !== undefined) ceilings.push(Math.floor(maxBandwidthRatio * 3 * tileSide * tileSide));
  if (maxBytesPerSecond !== undefined) notEnforced.push('bandwidth.maxBytesPerSecond');
  if (intent.quality.metric !== 'psnr') notEnforced.push(`quality (${intent.quality.metric})`);
  const constraints: PolicyConstraints = {
    id: intent.id,
    priority: intent.priority,
    ...(ceilings.length > 0 ? { maxUses: Math.min(...ceilings) } : {}),
    ...(intent.quality.metric === 'psnr' ? { minPsnr: intent.quality.min } : {}),
    ...(intent.expires !== undefined ? { expires: intent.expires } : {}),
  };
  return { kind: 'constraints', constraints, notEnforced };
}

function parseWeights(args: object): Partial<RewardWeights> {
  const { v, reward, ...rest } = args as { v?: unknown; reward?: unknown };
  const bad = (why: string): AkbError =>
    new AkbError('BAD_REQUEST', `intent.set reward weights: ${why}`, { hint: 'send {"v":1,"reward":{"costUse":1,"costPower":1}} (numbers from 0 to 100)' });
  if (v !== undefined && v !== 1) throw bad('v must be 1');
  if (Object.keys(rest).length > 0) throw bad(`unknown field ${Object.keys(rest)[0]}`);
  if (typeof reward !== 'object' || reward === null) throw bad('reward must be an object');
  const out: { costUse?: number; costPower?: number } = {};
  for (const [key, value] of Object.entries(reward)) {
    if (key !== 'costUse' && key !== 'costPower') throw bad(`unknown field reward.${key}`);
    if (typeof value !== 'number' || !(value >= 0 && value <= 100)) throw bad(`reward.${key} must be a number from 0 to 100`);
    out[key] = value;
  }
  if (Object.keys(out).length === 0) throw bad('name costUse or costPower');
  return out;
}

/**
 * The actions the constraints allow, as a 0/1 mask. `expectedPsnr(a)` is the channel KB's expectation
 * for action a at the current state; `uses(a)` its channel uses. Never empty. The link's ceiling
 * (`linkMaxUses`) always holds; when no action is within it, the one of fewest uses is allowed.
 */
export function allowedActions(
  constraints: PolicyConstraints | undefined,
  count: number,
  uses: (a: number) => number,
  expectedPsnr: ((a: number) => number) | undefined,
  out: Uint8Array,
): Uint8Array {
  out.fill(1, 0, count);
  if (constraints === undefined) return out;
  const fitsLink = (a: number): boolean => constraints.linkMaxUses === undefined || uses(a) <= constraints.linkMaxUses;
  const fitsBandwidth = (a: number): boolean => fitsLink(a) && (constraints.maxUses === undefined || uses(a) <= constraints.maxUses);
  const meetsQuality = (a: number): boolean => constraints.minPsnr === undefined || expectedPsnr === undefined || expectedPsnr(a) >= constraints.minPsnr;
  const pick = (test: (a: number) => boolean): boolean => {
    let any = false;
    for (let a = 0; a < count; a++) any = test(a) || any;
    if (!any) return false;
    for (let a = 0; a < count; a++) out[a] = test(a) ? 1 : 0;
    return true;
  };
  if (pick((a) => fitsBandwidth(a) && meetsQuality(a))) return out;
  const quality = constraints.priority === 'quality';
  if (quality ? pick((a) => fitsLink(a) && meetsQuality(a)) : pick(fitsBandwidth)) return out;
  // Nothing meets the limit that must hold: the closest action (fewest uses, or best expected PSNR within the link's ceiling).
  let anyFitsLink = false;
  for (let a = 0; a < count; a++) anyFitsLink = fitsLink(a) || anyFitsLink;
  const byPsnr = quality && expectedPsnr !== undefined && anyFitsLink;
  let best = -1;
  for (let a = 0; a < count; a++) {
    if (byPsnr && !fitsLink(a)) continue;
    const better = best < 0 || (byPsnr ? expectedPsnr(a) > expectedPsnr(best) : uses(a) < uses(best));
    if (better) best = a;
  }
  out.fill(0, 0, count);
  out[best] = 1;
  return out;
}
