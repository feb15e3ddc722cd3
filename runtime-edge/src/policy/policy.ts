/**
 * The channel KB as the agent's memory. For each tile (one frame) it picks a rate/power action:
 *
 * - `dqn`: the DQN's Q-values (the offline prior) plus the online correction of the reward;
 * - `channel-kb`: greedy over the offline table's expected reward plus the same correction;
 * - `fixed:<id>`: always one action, for comparisons (and the one action of a Deep JSCC set).
 *
 * The correction table (per SNR bin, complexity bin, action) learns from feedback how far the rewards
 * fed back were from the offline table. Exploration is ε-greedy, seeded, and bounded: it only picks among
 * allowed actions whose score is within `exploreMarginDb` of the best. On a link that declares its rate,
 * the link's ceiling (link-ceiling.ts) bounds a tile's uses beside an intent's limits (not in fixed mode).
 * The DQN runs once per image: the state of a tile differs from its neighbours' only by complexity bin and previous action, so all
 * 4 x actions states are scored in one batch and the tiles are walked in order.
 */
import { AkbError, type RandomSource, seededRandom } from '@akb/protocol';
import { type BackendName, type BackendRegistry, type ChannelKbTable, defaultBackends, type InferenceSession, type ModelSet, type RateAction } from '@akb/jscc';
import { CorrectionTable } from './correction.js';
import { allowedActions, type PolicyConstraints, type RewardWeights } from './intent.js';
import type { LinkCeiling } from './link-ceiling.js';
import { LinkState, STATE_DIM, initialActionIndex, snrBinIndex } from './state.js';

export type PolicyMode = { kind: 'dqn' } | { kind: 'channel-kb' } | { kind: 'fixed'; actionId: number };

/** `dqn`, `channel-kb` or `fixed:<action id>`. */
export function parsePolicyMode(text: string): PolicyMode {
  if (text === 'dqn' || text === 'channel-kb') return { kind: text };
  const m = /^fixed:(\d{1,5})$/.exec(text);
  if (m) return { kind: 'fixed', actionId: Number(m[1]) };
  throw new AkbError('BAD_POLICY', `unknown policy "${text.slice(0, 40)}"`, { hint: 'use dqn, channel-kb or fixed:<action id>' });
}

export function formatPolicyMode(mode: PolicyMode): string {
  return mode.kind === 'fixed' ? `fixed:${mode.actionId}` : mode.kind;
}

export interface ChannelPolicyOptions {
  /** Default: dqn for an AKB set, fixed:0 for a Deep JSCC set. */
  mode?: PolicyMode | string;
  /** Exploration rate (default 0.05; never in fixed mode). */
  epsilon?: number;
  /** Exploration only picks actions scored within this many dB of the best (default 2). */
  exploreMarginDb?: number;
  seed?: number;
  /** Channel SNR assumed until feedback measures one, dB (default 10). */
  initialSnrDb?: number;
  /** Learn the correction table from feedback (default true). */
  learn?: boolean;
  weights?: Partial<RewardWeights>;
  backends?: BackendRegistry;
  backendOrder?: readonly BackendName[];
  now?: () => number;
  /** The link's ceiling on a tile's uses (link-ceiling.ts); the pipeline sets it from its link. */
  linkCeiling?: LinkCeiling;
}

export interface TileDecisions {
  /** Action index (into the set's actions) per tile; a view valid until the next choose. */
  readonly actions: Uint16Array;
  /** SNR bin of the estimate the choice was made at. */
  readonly snrBin: number;
  readonly explored: number;
  /** Time inside the DQN's session.run, ms. */
  readonly sessionMs: number;
}

export interface FeedbackOutcome {
  readonly lost: boolean;
  /** Channel SNR (measured SNR less the action's power), dB; absent when the frame was lost. */
  readonly channelSnrDb?: number;
  readonly psnr: number;
  /** True when the PSNR came from the channel KB (the receiver did not know it). */
  readonly psnrEstimated: boolean;
  readonly reward: number;
  /** The corrected cell's new value, when learning. */
  readonly correction?: number;
}

export class ChannelPolicy {
  readonly state: LinkState;
  readonly correction: CorrectionTable | undefined;
  readonly stats = { decisions: 0, explored: 0, observed: 0 };
  private weightsNow: RewardWeights;
  private constraintsNow: PolicyConstraints | undefined;
  private linkCeilingNow: LinkCeiling | undefined;
  private prevAction: number;
  private readonly random: RandomSource;
  private readonly count: number;
  private actionsOut = new Uint16Array(64);
  private readonly states: Float32Array;
  private readonly masks: Uint8Array;
  private readonly scores: Float64Array;

  private constructor(
    readonly actions: readonly RateAction[],
    readonly mode: PolicyMode,
    private readonly table: ChannelKbTable | undefined,
    private readonly dqn: { session: InferenceSession; input: string; output: string } | undefined,
    private readonly options: ChannelPolicyOptions,
  ) {
    this.count = actions.length;
    this.state = new LinkState(options.initialSnrDb ?? 10);
    this.prevAction = initialActionIndex(actions);
    this.random = seededRandom(options.seed ?? 1);
    const base = table?.reward ?? { costUse: 1, costPower: 1 };
    this.weightsNow = { costUse: base.costUse, costPower: base.costPower, ...options.weights };
    this.linkCeilingNow = options.linkCeiling;
    this.correction = table ? new CorrectionTable(table.snrBins.length, table.complexityEdges.length + 1, this.count) : undefined;
    this.states = new Float32Array(this.count * 4 * STATE_DIM);
    this.masks = new Uint8Array(4 * this.count);
    this.scores = new Float64Array(this.count);
  }

  static async create(set: ModelSet, options: ChannelPolicyOptions = {}): Promise<ChannelPolicy> {
    const given = options.mode ?? (set.kind === 'akb' ? 'dqn' : 'fixed:0');
    const mode = typeof given === 'string' ? parsePolicyMode(given) : given;
    if (mode.kind === 'fixed' && !set.actions.some((a) => a.id === mode.actionId)) {
      throw new AkbError('BAD_POLICY', `the set ${set.name} has no action ${mode.actionId}`, { hint: `its actions: ${set.actions.map((a) => a.id).join(', ')}` });
    }
    if (mode.kind !== 'fixed' && (!set.channelKb || (mode.kind === 'dqn' && !set.policy))) {
      throw new AkbError('BAD_POLICY', `the set ${set.name} has no ${mode.kind === 'dqn' ? 'DQN policy' : 'channel KB'}`, { hint: 'use --policy fixed:0 with a set without a DQN (deepjscc, akb-fixed)' });
    }
    if (set.channelKb && set.channelKb.complexityEdges.length !== 3) {
      throw new AkbError('MODEL_SET_INVALID', `the channel KB of ${set.name} has ${set.channelKb.complexityEdges.length + 1} complexity bins; the DQN state has 4`);
    }
    let dqn: { session: InferenceSession; input: string; output: string } | undefined;
    if (mode.kind === 'dqn' && set.policy) {
      const card = set.policy.card;
      const input = card.inputs[0];
      const output = card.outputs[0];
      if (!input || input.shape[1] !== STATE_DIM || !output || output.shape[1] !== set.actions.length) {
        throw new AkbError('MODEL_SET_INVALID', `${card.name} must map [N, ${STATE_DIM}] to [N, ${set.actions.length}]`);
      }
      const session = await (options.backends ?? defaultBackends()).createSession(set.policy.bytes, options.backendOrder ?? ['onnxruntime-node-cpu'], card.name);
      dqn = { session, input: input.name, output: output.name };
    }
    return new ChannelPolicy(set.actions, mode, set.channelKb, dqn, options);
  }

  get weights(): RewardWeights {
    return this.weightsNow;
  }

  setWeights(weights: Partial<RewardWeights>): RewardWeights {
    this.weightsNow = { ...this.weightsNow, ...weights };
    return this.weightsNow;
  }

  get constraints(): PolicyConstraints | undefined {
    const c = this.constraintsNow;
    if (c?.expires !== undefined && c.expires < (this.options.now ?? Date.now)()) this.constraintsNow = undefined;
    return this.constraintsNow;
  }

  setConstraints(constraints: PolicyConstraints | undefined): void {
    this.constraintsNow = constraints;
  }

  /** The link's ceiling on a tile's channel uses; undefined on a link that declares no rate. */
  get linkCeiling(): LinkCeiling | undefined {
    return this.linkCeilingNow;
  }

  setLinkCeiling(ceiling: LinkCeiling | undefined): void {
    this.linkCeilingNow = ceiling;
  }

  /** The intent's constraints with the link's ceiling; what the choice is made under. */
  get effectiveConstraints(): PolicyConstraints | undefined {
    const c = this.constraints;
    const link = this.linkCeilingNow?.maxUses;
    if (link === undefined) return c;
    return { ...(c ?? { priority: 'bandwidth' }), linkMaxUses: link };
  }

  /** The channel SNR estimate the next choice is made at, dB. */
  get snrEstimateDb(): number {
    return this.state.est;
  }

  /** psnr − costUse·uses/256 − costPower·10^(powerDb/10) under the current weights. */
  reward(psnr: number, action: number): number {
    const a = this.actions[action]!;
    return psnr - (this.weightsNow.costUse * a.channelUses) / 256 - this.weightsNow.costPower * 10 ** (a.powerDb / 10);
  }

  /** The offline table's expected PSNR of `action` at channel-SNR bin `snrBin`; undefined without a table. */
  expectedPsnr(snrBin: number, cbin: number, action: number): number | undefined {
    return this.table?.expectedPsnr[snrBin]?.[cbin]?.[action];
  }

  /** Expected reward: the offline table under the current weights plus the learned correction. */
  expectedReward(snrBin: number, cbin: number, action: number): number | undefined {
    const p = this.expectedPsnr(snrBin, cbin, action);
    return p === undefined ? undefined : this.reward(p, action) + (this.correction?.get(snrBin, cbin, action) ?? 0);
  }

  /** Chooses an action for each of `count` tiles, given each tile's complexity bin. */
  async choose(cbins: Uint8Array, count: number): Promise<TileDecisions> {
    if (this.actionsOut.length < count) this.actionsOut = new Uint16Array(Math.max(count, 2 * this.actionsOut.length));
    const out = this.actionsOut;
    const snrBin = this.table ? snrBinIndex(this.state.est, this.table.snrBins) : 0;
    this.stats.decisions += count;
    if (this.mode.kind === 'fixed') {
      const id = this.mode.actionId;
      const a = this.actions.findIndex((x) => x.id === id);
      out.fill(a, 0, count);
      this.prevAction = a;
      return { actions: out, snrBin, explored: 0, sessionMs: 0 };
    }
    const A = this.count;
    const constraints = this.effectiveConstraints;
    for (let c = 0; c < 4; c++) {
      allowedActions(constraints, A, (a) => this.actions[a]!.channelUses, (a) => this.expectedPsnr(snrBin, c, a)! + this.correction!.get(snrBin, c, a), this.masks.subarray(c * A, (c + 1) * A));
    }
    let q: Float32Array | undefined;
    let sessionMs = 0;
    if (this.dqn) {
      for (let p = 0; p < A; p++) for (let c = 0; c < 4; c++) this.state.write(this.states, (p * 4 + c) * STATE_DIM, c, this.actions[p]!);
      const t0 = performance.now();
      const result = await this.dqn.session.run({ [this.dqn.input]: { data: this.states, dims: [A * 4, STATE_DIM] } });
      sessionMs = performance.now() - t0;
      q = result[this.dqn.output]?.data;
      if (!q || q.length !== A * A * 4) throw new AkbError('BAD_OUTPUT', `the DQN returned no ${this.dqn.output} of ${A * 4} x ${A} values`);
    }
    const { costUse, costPower } = this.weightsNow;
    const base = this.table!.reward;
    let prev = this.prevAction;
    let explored = 0;
    for (let t = 0; t < count; t++) {
      const c = cbins[t]!;
      const row = (prev * 4 + c) * A;
      let best = -1;
      for (let a = 0; a < A; a++) {
        const act = this.actions[a]!;
        let s: number;
        if (q) {
          // The Q-values were learned under the training weights: shift by the change in this action's cost.
          const dCost = ((costUse - base.costUse) * act.channelUses) / 256 + (costPower - base.costPower) * 10 ** (act.powerDb / 10);
          s = q[row + a]! - dCost + this.correction!.get(snrBin, c, a);
        } else {
          s = this.expectedReward(snrBin, c, a)!;
        }
        this.scores[a] = s;
        if (this.masks[c * A + a] && (best < 0 || s > this.scores[best]!)) best = a;
      }
      let chosen = best;
      const epsilon = this.options.epsilon ?? 0.05;
      if (epsilon > 0 && this.random() < epsilon) chosen = this.explore(c, best);
      if (chosen !== best) explored++;
      out[t] = chosen;
      prev = chosen;
    }
    this.prevAction = prev;
    this.stats.explored += explored;
    return { actions: out, snrBin, explored, sessionMs };
  }

  /** A uniform pick among allowed actions scored within the margin of the best. */
  private explore(cbin: number, best: number): number {
    const A = this.count;
    const floor = this.scores[best]! - (this.options.exploreMarginDb ?? 2);
    let n = 0;
    for (let a = 0; a < A; a++) if (this.masks[cbin * A + a] && this.scores[a]! >= floor) n++;
    let k = Math.floor(this.random() * n);
    for (let a = 0; a < A; a++) {
      if (this.masks[cbin * A + a] && this.scores[a]! >= floor && k-- === 0) return a;
    }
    return best;
  }

  /**
   * Feedback on a frame chosen at (snrBin, cbin, action): the receiver's SNR over the power-scaled
   * symbols, its PSNR when known, and whether the frame was lost. Updates the link state and the
   * correction table; returns what was learned.
   */
  observe(decision: { snrBin: number; cbin: number; action: number }, feedback: { snrDb: number; psnr?: number; lost: boolean }): FeedbackOutcome {
    const { snrBin, cbin, action } = decision;
    const act = this.actions[action];
    if (!act) throw new AkbError('BAD_ACTION', `no action ${action}`);
    this.stats.observed++;
    const channelSnrDb = feedback.lost ? undefined : feedback.snrDb - act.powerDb;
    let psnr = feedback.psnr;
    const psnrEstimated = psnr === undefined;
    if (psnr === undefined) {
      if (feedback.lost) psnr = this.table?.reward.lostFramePsnr ?? this.state.psnrEma;
      else psnr = this.table ? this.expectedPsnr(snrBinIndex(channelSnrDb!, this.table.snrBins), cbin, action)! : this.state.psnrEma;
    }
    const reward = this.reward(psnr, action);
    let correction: number | undefined;
    const expected = this.expectedPsnr(snrBin, cbin, action);
    if (this.correction && expected !== undefined && (this.options.learn ?? true)) {
      correction = this.correction.update(snrBin, cbin, action, reward - this.reward(expected, action));
    }
    this.state.observe(channelSnrDb, psnr);
    return { lost: feedback.lost, ...(channelSnrDb === undefined ? {} : { channelSnrDb }), psnr, psnrEstimated, reward, ...(correction === undefined ? {} : { correction }) };
  }

  /** The backend the DQN's session runs on; undefined when the policy runs no model. */
  get backend(): BackendName | undefined {
    return this.dqn?.session.backend;
  }

  async release(): Promise<void> {
    await this.dqn?.session.release();
  }
}
