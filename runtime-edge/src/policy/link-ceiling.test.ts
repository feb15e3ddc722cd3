/**
 * The link's ceiling on a tile's channel uses, by hand: fragments of the link's MTU, 60 bytes of header and
 * CRC each, 2 bytes per int8 use (8 per float32 use); the largest number of uses within the budget. And
 * how it combines with an intent in allowedActions.
 */
import { describe, expect, it } from 'vitest';
import { allowedActions, type PolicyConstraints } from './intent.js';
import { FRAGMENT_OVERHEAD_BYTES, linkUseCeiling, tileTimeMs } from './link-ceiling.js';

const USES = [64, 128, 256, 384, 512];
const PSNR = [20, 22, 25, 27, 28];

function allowed(c: PolicyConstraints | undefined): number[] {
  const mask = allowedActions(c, USES.length, (a) => USES[a]!, (a) => PSNR[a]!, new Uint8Array(USES.length));
  return USES.filter((_, a) => mask[a] === 1);
}

describe('link ceiling', () => {
  it('counts 60 bytes per fragment and 2 bytes per int8 use at the link rate', () => {
    expect(FRAGMENT_OVERHEAD_BYTES).toBe(60);
    const model = { mtu: 1024, dtype: 'int8' as const, bytesPerSecond: 100 };
    // 482 int8 symbols fit a 1024-byte fragment: 482 uses are one fragment, 483 two.
    expect(tileTimeMs(482, model)).toBeCloseTo((10 * (60 + 964)), 9);
    expect(tileTimeMs(483, model)).toBeCloseTo(10 * (120 + 966), 9);
    expect(tileTimeMs(0, model)).toBeCloseTo(600, 9); // an empty frame is still one fragment
    expect(tileTimeMs(10, { ...model, dtype: 'float32' })).toBeCloseTo(10 * (60 + 80), 9);
  });

  it('is the largest number of uses whose frame fits the budget', () => {
    // SF7/125 kHz CR 4/5: 620.6 B/s of fragment bytes; 1 s holds 60 + 2·280 = 620 bytes.
    const sf7 = linkUseCeiling({ mtu: 1024, dtype: 'int8', bytesPerSecond: 620.6 }, 1000)!;
    expect(sf7).toMatchObject({ maxUses: 280, basis: 'bytesPerSecond', budgetMs: 1000 });
    expect(sf7.tileMs).toBeLessThanOrEqual(1000);
    // Two fragments at MTU 128: 34 symbols per fragment.
    const small = linkUseCeiling({ mtu: 128, dtype: 'int8', bytesPerSecond: 1000 }, 1000)!;
    const fits = (u: number): boolean => tileTimeMs(u, { mtu: 128, dtype: 'int8', bytesPerSecond: 1000 }) <= 1000;
    expect(fits(small.maxUses) && !fits(small.maxUses + 1)).toBe(true);
    expect(small.maxUses).toBe(7 * 34 + 22); // 7 full fragments (896 bytes), then one of 60 + 2·22 bytes
  });

  it('is 0 when not even an empty fragment fits (LoRa SF12), and absent without a rate or with a budget of 0', () => {
    expect(linkUseCeiling({ mtu: 1024, dtype: 'int8', bytesPerSecond: 27.5 }, 1000)?.maxUses).toBe(0);
    expect(linkUseCeiling({ mtu: 1024, dtype: 'int8' }, 1000)).toBeUndefined();
    expect(linkUseCeiling({ mtu: 1024, dtype: 'int8', bytesPerSecond: 27.5 }, 0)).toBeUndefined();
    expect(() => linkUseCeiling({ mtu: 1024, dtype: 'int8', bytesPerSecond: 0 }, 1000)).toThrow(/bytesPerSecond/);
    expect(() => linkUseCeiling({ mtu: 1024, dtype: 'int8', bytesPerSecond: 1 }, -1)).toThrow(/tile budget/);
  });

  it('on a symbol-rate link counts each fragment burst as the caller says', () => {
    const burst = (n: number): number => 1000 + n;
    const model = { mtu: 4096, dtype: 'float32' as const, symbolsPerSecond: 20_000, burstSymbols: burst };
    // 504 float32 symbols per 4096-byte fragment; 20,000 samples/s: 504 + 1000 samples per full fragment.
    expect(tileTimeMs(504, model)).toBeCloseTo(1504 / 20, 9);
    expect(tileTimeMs(505, model)).toBeCloseTo((1504 + 1001) / 20, 9);
    const c = linkUseCeiling(model, 1000)!;
    expect(c.basis).toBe('symbolsPerSecond');
    expect(tileTimeMs(c.maxUses, model)).toBeLessThanOrEqual(1000);
    expect(tileTimeMs(c.maxUses + 1, model)).toBeGreaterThan(1000);
  });
});

describe('allowedActions with the link ceiling', () => {
  it('alone: the actions within it; none within it: the fewest uses', () => {
    expect(allowed({ priority: 'bandwidth', linkMaxUses: 280 })).toEqual([64, 128, 256]);
    expect(allowed({ priority: 'bandwidth', linkMaxUses: 0 })).toEqual([64]);
  });

  it("with an intent's maxUses the smaller wins", () => {
    expect(allowed({ priority: 'bandwidth', maxUses: 400, linkMaxUses: 200 })).toEqual([64, 128]);
    expect(allowed({ priority: 'bandwidth', maxUses: 100, linkMaxUses: 400 })).toEqual([64]);
  });

  it('holds under a quality intent: the floor narrows within it, else the best expected PSNR within it', () => {
    expect(allowed({ priority: 'quality', minPsnr: 22, linkMaxUses: 300 })).toEqual([128, 256]);
    expect(allowed({ priority: 'quality', minPsnr: 27.5, linkMaxUses: 300 })).toEqual([256]);
    expect(allowed({ priority: 'quality', minPsnr: 27.5, linkMaxUses: 10 })).toEqual([64]);
    // Without a link ceiling a quality intent's floor still wins over its maxUses, as before.
    expect(allowed({ priority: 'quality', minPsnr: 27.5, maxUses: 100 })).toEqual([512]);
  });
});
