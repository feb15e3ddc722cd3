import { describe, expect, it } from 'vitest';
import { loadModelSet } from '@akb/jscc';
import { TileDecoder } from './tile-decoder.js';
import type { DecodeLane } from './lanes.js';

describe('TileDecoder queue bound', () => {
  it('refuses tiles past maxQueue (OVERLOADED) and drops the queued ones on cancelQueued', async () => {
    // Thrown at it: a lane that never finishes (a stalled decoder) and 20 tiles, with room for 4 queued.
    const set = await loadModelSet('models/zoo', 'akb-k256');
    const stalled: DecodeLane = { kind: 'inline', run: () => new Promise<Float32Array>(() => undefined), close: () => Promise.resolve() };
    const d = await TileDecoder.create(set, { laneFactory: () => Promise.resolve(stalled), maxBatch: 1, maxQueue: 4 });
    const job = { latent: new Float32Array(8), length: 4, prior: set.kb!.globalMean, snrDb: 5 };
    const outcomes = Array.from({ length: 20 }, () => d.decode(job).then(() => 'ok', (e: { code?: string }) => e.code));
    await new Promise((r) => setTimeout(r, 10));
    expect(d.stats).toMatchObject({ queued: 4, shed: 14 });
    expect(d.cancelQueued()).toBe(4);
    const settled = await Promise.race([Promise.all(outcomes.slice(2)), new Promise((r) => setTimeout(() => r('pending'), 500))]);
    expect(settled).toEqual([...Array<string>(4).fill('CANCELLED'), ...Array<string>(14).fill('OVERLOADED')]);
  });
});
