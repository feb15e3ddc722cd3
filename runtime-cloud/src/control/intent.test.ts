import { beforeAll, describe, expect, it } from 'vitest';
import type { IntentMessage } from '@akb/protocol';
import { loadModelSet, type ModelSet } from '@akb/jscc';
import { IntentBook } from './intent.js';
import { rewardFor, weightsForIntent } from '../decode/reward.js';

const T0 = 1_764_096_420_000;

function intent(over: Partial<IntentMessage> = {}): IntentMessage {
  return { v: 1, id: 'i1', ts: T0, target: { scope: 'device', device: 'cam-01' }, quality: { metric: 'psnr', min: 20 }, bandwidth: { maxSymbolsPerFrame: 512 }, priority: 'bandwidth', ...over };
}

describe('intent → reward weights', () => {
  let set: ModelSet;
  beforeAll(async () => {
    set = await loadModelSet('models/zoo', 'akb-k256');
  });

  it('computes the channel KB reward formula', () => {
    expect(rewardFor(25, { id: 8, channelUses: 256, powerDb: 3 }, { costUse: 1, costPower: 1 })).toBeCloseTo(25 - 1 - 10 ** 0.3, 9);
  });

  it('keeps the channel KB weights when the intent asks nothing they do not already give', () => {
    const w = weightsForIntent(intent({ quality: { metric: 'psnr', min: 0 } }), set.channelKb, set.actions);
    expect(w.weights).toEqual({ costUse: set.channelKb!.reward.costUse, costPower: set.channelKb!.reward.costPower });
    expect(w.kept).toBe(1);
  });

  it('raises the cost of channel uses for a tight budget, lowers it for a high quality floor', () => {
    // Thrown at it: a budget of 1/48 of the source (64 uses per tile), then a 27 dB floor with no budget to speak of.
    const tight = weightsForIntent(intent({ bandwidth: { maxBandwidthRatio: 1 / 48 } }), set.channelKb, set.actions);
    expect(tight.budgetUses).toBe(64);
    expect(tight.weights.costUse).toBeGreaterThan(set.channelKb!.reward.costUse);
    expect(tight.kept).toBeGreaterThan(0.9);
    const demanding = weightsForIntent(intent({ quality: { metric: 'psnr', min: 27 }, priority: 'quality' }), set.channelKb, set.actions);
    expect(demanding.weights.costUse).toBeLessThan(set.channelKb!.reward.costUse);
  });

  it('lets a device intent win over a fleet one, matches profiles, and forgets expired intents', () => {
    let now = T0;
    const profiles: Record<string, string> = { 'cam-01': 'rpi-5', 'cam-02': 'jetson-orin-nano' };
    const book = new IntentBook({ set, profileOf: (d) => profiles[d], now: () => now });
    const fleet = book.set(intent({ id: 'fleet', target: { scope: 'fleet', profiles: ['rpi-5'] }, bandwidth: { maxBandwidthRatio: 1 / 48 } }));
    expect(book.weightsFor('cam-01')).toEqual(fleet.weights);
    expect(book.weightsFor('cam-02')).toEqual({ costUse: set.channelKb!.reward.costUse, costPower: set.channelKb!.reward.costPower });
    const own = book.set(intent({ id: 'own', ts: T0 - 1, quality: { metric: 'psnr', min: 27 }, priority: 'quality', expires: T0 + 1000 }));
    expect(book.weightsFor('cam-01')).toEqual(own.weights);
    now = T0 + 1000;
    expect(book.weightsFor('cam-01')).toEqual(fleet.weights);
    expect(IntentBook.targets(fleet.intent, new Map(Object.entries(profiles)))).toEqual(['cam-01']);
    expect(() => book.set({ ...intent(), bandwidth: {} })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
