/**
 * Intents: `intent.set` (args: an IntentMessage) reaches the cloud on `akb/v1/cloud/ops/req`. The cloud
 * turns it into reward weights (reward.ts), which the feedback of that device's frames uses from then on,
 * and forwards the intent itself, unchanged, as an `intent.set` request on each target device's
 * `cmd/req` (a device intent to its device; a fleet intent to every known device of the named profiles,
 * or all). A device intent wins over a fleet one; an expired intent no longer counts; a newer intent with
 * the same id replaces the older.
 */
import { AkbError, INTENT_SET_OP, isAkbError, validateMessage, type IntentMessage } from '@akb/protocol';
import type { ModelSet } from '@akb/jscc';
import type { DeviceRequester } from './commands.js';
import { DEFAULT_WEIGHTS, weightsForIntent, type IntentWeights, type RewardWeights } from '../decode/reward.js';

export interface IntentBookOptions {
  /** The set whose channel KB and actions the weights are derived from (the first akb set). */
  set?: ModelSet;
  /** A device's profile, for fleet intents limited to some profiles. */
  profileOf?: (device: string) => string | undefined;
  now?: () => number;
}

export interface StoredIntent extends IntentWeights {
  readonly intent: IntentMessage;
}

export interface ForwardResult {
  device: string;
  status: 'ok' | 'error';
  code?: string;
  message?: string;
}

/** Most intents kept (by id); the oldest go first. */
const MAX_INTENTS = 1024;

export class IntentBook {
  private readonly intents = new Map<string, StoredIntent>();
  private readonly now: () => number;

  constructor(private readonly options: IntentBookOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** The weights before any intent: the channel KB's own. */
  get baseWeights(): RewardWeights {
    const r = this.options.set?.channelKb?.reward ?? DEFAULT_WEIGHTS;
    return { costUse: r.costUse, costPower: r.costPower };
  }

  /** Validates and stores an intent; throws AkbError('BAD_REQUEST') for one that is not an IntentMessage. */
  set(args: unknown): StoredIntent {
    let intent: IntentMessage;
    try {
      intent = validateMessage('intent', args);
    } catch (e) {
      throw new AkbError('BAD_REQUEST', isAkbError(e) ? e.message : String(e), { hint: 'args of intent.set is an intent (protocol/schema/intent.schema.json)' });
    }
    const set = this.options.set;
    const stored = { intent, ...weightsForIntent(intent, set?.channelKb, set?.actions ?? []) };
    this.intents.delete(intent.id);
    this.intents.set(intent.id, stored);
    while (this.intents.size > MAX_INTENTS) this.intents.delete(this.intents.keys().next().value!);
    return stored;
  }

  /** The intent that governs `device` now: the newest live device intent, else the newest live fleet one. */
  intentFor(device: string): StoredIntent | undefined {
    const now = this.now();
    const profile = this.options.profileOf?.(device);
    let own: StoredIntent | undefined;
    let fleet: StoredIntent | undefined;
    for (const s of this.intents.values()) {
      const i = s.intent;
      if (i.expires !== undefined && i.expires <= now) continue;
      if (i.target.scope === 'device') {
        if (i.target.device === device && (own === undefined || i.ts >= own.intent.ts)) own = s;
      } else if (i.target.profiles === undefined || (profile !== undefined && i.target.profiles.includes(profile))) {
        if (fleet === undefined || i.ts >= fleet.intent.ts) fleet = s;
      }
    }
    return own ?? fleet;
  }

  weightsFor(device: string): RewardWeights {
    return this.intentFor(device)?.weights ?? this.baseWeights;
  }

  /** The devices an intent is for, among `known` (device → profile). */
  static targets(intent: IntentMessage, known: ReadonlyMap<string, string | undefined>): string[] {
    const t = intent.target;
    if (t.scope === 'device') return [t.device];
    return [...known].filter(([, profile]) => t.profiles === undefined || (profile !== undefined && t.profiles.includes(profile))).map(([d]) => d);
  }
}

/**
 * Sends `intent` as an intent.set request to each device's cmd/req (answered on its cmd/res) and reports
 * how each answered. Devices `inScope` refuses are not sent anything (code OUT_OF_SCOPE).
 */
export async function forwardIntent(
  devices: DeviceRequester,
  intent: IntentMessage,
  targets: readonly string[],
  inScope: (device: string) => boolean = () => true,
): Promise<ForwardResult[]> {
  return Promise.all(
    targets.map(async (device): Promise<ForwardResult> => {
      if (!inScope(device)) return { device, status: 'error', code: 'OUT_OF_SCOPE', message: `${device} is outside this cloud's --devices` };
      try {
        await devices.request(device, INTENT_SET_OP, intent);
        return { device, status: 'ok' };
      } catch (e) {
        return { device, status: 'error', code: isAkbError(e) ? e.code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}
