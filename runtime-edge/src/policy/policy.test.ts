import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackendRegistry, type InferenceBackend, loadModelSet, type ModelSet, type Tensor } from '@akb/jscc';
import { parseIntentArgs } from './intent.js';
import { ChannelPolicy, parsePolicyMode } from './policy.js';
import { STATE_DIM, complexityBin, snrBinIndex, tileComplexity } from './state.js';

const zoo = fileURLToPath(new URL('../../../models/zoo', import.meta.url));
const fixtureImages = (): Float32Array => {
  const b = readFileSync(new URL('../../../models/fixtures/images.f32', import.meta.url));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
let set: ModelSet;
beforeAll(async () => {
  set = await loadModelSet(zoo, 'akb-k256');
});

/** A DQN stand-in that records the states it is given and prefers action 11 after (256, 0 dB), else action 3. */
function recordingDqn(): { backends: BackendRegistry; states: Float32Array[] } {
  const states: Float32Array[] = [];
  const backend: InferenceBackend = {
    name: 'onnxruntime-node-cpu',
    createSession: () =>
      Promise.resolve({
        backend: 'onnxruntime-node-cpu',
        inputNames: ['state'],
        outputNames: ['q_values'],
        run: (feeds: Readonly<Record<string, Tensor>>) => {
          const s = feeds.state!;
          states.push(s.data.slice());
          const rows = s.dims[0]!;
          const q = new Float32Array(rows * 15);
          for (let r = 0; r < rows; r++) q[r * 15 + (s.data[r * STATE_DIM + 6] === 0.5 && s.data[r * STATE_DIM + 7] === 0 ? 11 : 3)] = 1;
          return Promise.resolve({ q_values: { data: q, dims: [rows, 15] } });
        },
        release: () => Promise.resolve(),
      }),
  };
  return { backends: new BackendRegistry().register(backend), states };
}

describe('DQN state (models/train/linksim.py LinkEnv.obs/step)', () => {
  it('complexity and its bins match the Python measure on the CIFAR fixtures', () => {
    // models/common/data.py::complexity on round(images * 255) as uint8, and numpy.digitize on channel_kb.json's edges.
    const python = [0.0564628, 0.0607711, 0.0894186, 0.0766215, 0.0478791, 0.0778812, 0.0582273, 0.0926688, 0.050728, 0.0532265, 0.0957793, 0.0935879, 0.0463769, 0.0679185, 0.0632834, 0.0487047];
    const bins = [1, 2, 3, 3, 1, 3, 1, 3, 1, 1, 3, 3, 1, 2, 2, 1];
    const images = fixtureImages();
    const grey = new Float32Array(1024);
    for (let i = 0; i < 16; i++) {
      const c = tileComplexity(images, i * 3072, 32, grey);
      expect(c).toBeCloseTo(python[i]!, 6);
      expect(complexityBin(c, set.channelKb!.complexityEdges)).toBe(bins[i]);
    }
    expect(complexityBin(0.05, [0.05, 0.06])).toBe(1); // an edge itself belongs to the bin above, as numpy.digitize
    expect(snrBinIndex(-30, set.channelKb!.snrBins)).toBe(0);
    expect(snrBinIndex(7.5, set.channelKb!.snrBins)).toBe(14); // round half up to 8 dB, bins from -6
  });

  it('feeds the DQN the 11 fields computed by hand, and walks the tiles with the previous action', async () => {
    const { backends, states } = recordingDqn();
    const policy = await ChannelPolicy.create(set, { mode: 'dqn', epsilon: 0, initialSnrDb: 10, backends });
    // Feedback on a frame sent with action 11 (384 uses, +3 dB): 11 dB measured on the scaled symbols → 8 dB channel SNR.
    policy.observe({ snrBin: 16, cbin: 1, action: 11 }, { snrDb: 11, psnr: 25, lost: false });
    const choice = await policy.choose(Uint8Array.from([2, 0]), 2);
    expect(Array.from(choice.actions.subarray(0, 2))).toEqual([11, 3]);
    const s = states[0]!;
    expect(s.length).toBe(15 * 4 * STATE_DIM);
    const row = (prev: number, cbin: number): number[] => Array.from(s.subarray((prev * 4 + cbin) * STATE_DIM, (prev * 4 + cbin + 1) * STATE_DIM));
    // est 8, est_prev 10, est_long 0.9·10 + 0.1·8, psnr EMA 0.8·22 + 0.2·25, not lost.
    const expected0 = [0.8, -0.4, 0, 0, 1, 0, 256 / 512, 0, 22.6 / 30, 0, 0.98];
    const expected1 = [0.8, -0.4, 1, 0, 0, 0, 384 / 512, 1, 22.6 / 30, 0, 0.98];
    row(7, 2).forEach((v, i) => expect(v).toBeCloseTo(expected0[i]!, 6));
    row(11, 0).forEach((v, i) => expect(v).toBeCloseTo(expected1[i]!, 6));
    // A lost frame keeps the estimate, sets the flag and counts the global-mean PSNR.
    const lost = policy.observe({ snrBin: 14, cbin: 0, action: 3 }, { snrDb: 0, lost: true });
    expect(lost).toMatchObject({ lost: true, psnr: 12.73, psnrEstimated: true });
    expect(policy.state).toMatchObject({ est: 8, estPrev: 8, lostPrev: 1 });
    expect(policy.state.estLong).toBeCloseTo(0.9 * 9.8 + 0.8, 9);
  });

  it('runs the real DQN once per image', async () => {
    const policy = await ChannelPolicy.create(set, { mode: 'dqn', epsilon: 0 });
    const d = await policy.choose(new Uint8Array(50).fill(1), 50);
    expect(d.actions.subarray(0, 50).every((a) => a >= 0 && a < 15)).toBe(true);
    await policy.release();
  });
});

describe('channel KB policy', () => {
  it('moves the correction toward the rewards fed back, and the greedy choice with it', async () => {
    const policy = await ChannelPolicy.create(set, { mode: 'channel-kb', epsilon: 0, initialSnrDb: 10 });
    const first = (await policy.choose(Uint8Array.of(1), 1)).actions[0]!;
    const snrBin = snrBinIndex(10, set.channelKb!.snrBins);
    const expected = set.channelKb!.expectedPsnr[snrBin]![1]![first]!;
    const power = set.actions[first]!.powerDb;
    // The receiver reports 6 dB less than the table expects, again and again.
    let last = 0;
    for (let i = 0; i < 40; i++) {
      const out = policy.observe({ snrBin, cbin: 1, action: first }, { snrDb: 10 + power, psnr: expected - 6, lost: false });
      expect(out.reward).toBeCloseTo(policy.reward(expected - 6, first), 9);
      last = out.correction!;
    }
    expect(last).toBeCloseTo(-6, 6);
    expect(policy.expectedReward(snrBin, 1, first)).toBeCloseTo(policy.reward(expected - 6, first), 6);
    expect(policy.correction!.cell(snrBin, 1, first).count).toBe(40);
    const next = (await policy.choose(Uint8Array.of(1), 1)).actions[0]!;
    expect(next).not.toBe(first);
  });

  it('estimates the PSNR from the table at the measured channel SNR when the receiver does not know it', async () => {
    const policy = await ChannelPolicy.create(set, { mode: 'channel-kb', epsilon: 0 });
    const out = policy.observe({ snrBin: 16, cbin: 2, action: 5 }, { snrDb: 7 + 3, lost: false }); // action 5: +3 dB
    const table = set.channelKb!.expectedPsnr[snrBinIndex(7, set.channelKb!.snrBins)]![2]![5]!;
    expect(out).toMatchObject({ psnrEstimated: true, channelSnrDb: 7 });
    expect(out.psnr).toBe(table);
  });

  it('explores seeded and bounded: at most about ε of the tiles, only allowed actions near the best', async () => {
    const run = async (): Promise<number[]> => {
      const policy = await ChannelPolicy.create(set, { mode: 'channel-kb', epsilon: 0.2, exploreMarginDb: 1.5, seed: 9 });
      policy.setConstraints({ priority: 'bandwidth', maxUses: 256 });
      const d = await policy.choose(new Uint8Array(4000).fill(2), 4000);
      const bin = snrBinIndex(policy.snrEstimateDb, set.channelKb!.snrBins);
      const scores = set.actions.map((_, a) => policy.expectedReward(bin, 2, a)!);
      const allowed = set.actions.map((a, i) => (a.channelUses <= 256 ? i : -1)).filter((i) => i >= 0);
      const best = allowed.reduce((b, a) => (scores[a]! > scores[b]! ? a : b));
      const picks = Array.from(d.actions.subarray(0, 4000));
      const explored = picks.filter((a) => a !== best).length;
      expect(explored).toBe(d.explored);
      expect(explored / 4000).toBeGreaterThan(0.02);
      expect(explored / 4000).toBeLessThan(0.2);
      for (const a of picks) {
        expect(set.actions[a]!.channelUses).toBeLessThanOrEqual(256);
        expect(scores[a]!).toBeGreaterThanOrEqual(scores[best]! - 1.5);
      }
      return picks;
    };
    expect(await run()).toEqual(await run());
  });

  it('follows the reward weights and intents set at run time', async () => {
    const policy = await ChannelPolicy.create(set, { mode: 'channel-kb', epsilon: 0, initialSnrDb: 15 });
    const pick = async (): Promise<number> => (await policy.choose(Uint8Array.of(1), 1)).actions[0]!;
    const uses = async (): Promise<number> => set.actions[await pick()]!.channelUses;
    // Free channel uses and power: the action of the best expected PSNR.
    policy.setWeights({ costUse: 0, costPower: 0 });
    const psnrs = set.channelKb!.expectedPsnr[snrBinIndex(15, set.channelKb!.snrBins)]![1]!;
    expect(await pick()).toBe(psnrs.indexOf(Math.max(...psnrs)));
    policy.setWeights({ costUse: 20 });
    expect(await uses()).toBe(64);
    policy.setWeights({ costUse: 0 });
    const self = { deviceId: 'cam', profile: 'rpi4', tileSide: 32 };
    const intent = { v: 1, id: 'i1', ts: 1_764_000_000_000, target: { scope: 'device', device: 'cam' }, quality: { metric: 'psnr', min: 10 }, bandwidth: { maxSymbolsPerFrame: 200 } };
    const update = parseIntentArgs(intent, self);
    expect(update).toMatchObject({ kind: 'constraints', constraints: { maxUses: 200, minPsnr: 10, priority: 'bandwidth' } });
    if (update.kind === 'constraints') policy.setConstraints(update.constraints);
    expect(await uses()).toBe(128);
    expect(parseIntentArgs({ ...intent, bandwidth: { maxBandwidthRatio: 1 / 12 } }, self)).toMatchObject({ constraints: { maxUses: 256 } });
    expect(parseIntentArgs({ ...intent, target: { scope: 'device', device: 'other' } }, self)).toEqual({ kind: 'not-for-me' });
    expect(parseIntentArgs({ v: 1, reward: { costPower: 2 } }, self)).toEqual({ kind: 'weights', weights: { costPower: 2 } });
    // Thrown at it: a negative weight, an unknown field, an intent that breaks the schema.
    expect(() => parseIntentArgs({ reward: { costUse: -1 } }, self)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }) as Error);
    expect(() => parseIntentArgs({ reward: { costUse: 1, gain: 2 } }, self)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }) as Error);
    expect(() => parseIntentArgs({ ...intent, bandwidth: {} }, self)).toThrow(expect.objectContaining({ code: 'SCHEMA_VIOLATION' }) as Error);
  });

  it('fixed mode always sends its action; modes are parsed with typed errors', async () => {
    const policy = await ChannelPolicy.create(set, { mode: 'fixed:13' });
    expect(Array.from((await policy.choose(new Uint8Array(5), 5)).actions.subarray(0, 5))).toEqual([13, 13, 13, 13, 13]);
    expect(parsePolicyMode('channel-kb')).toEqual({ kind: 'channel-kb' });
    expect(() => parsePolicyMode('greedy')).toThrow(expect.objectContaining({ code: 'BAD_POLICY' }) as Error);
    await expect(ChannelPolicy.create(set, { mode: 'fixed:99' })).rejects.toMatchObject({ code: 'BAD_POLICY' });
    const deep = await loadModelSet(zoo, 'deepjscc-r12-snr7');
    await expect(ChannelPolicy.create(deep, { mode: 'dqn' })).rejects.toMatchObject({ code: 'BAD_POLICY' });
    expect((await ChannelPolicy.create(deep)).mode).toEqual({ kind: 'fixed', actionId: 0 });
  });
});
