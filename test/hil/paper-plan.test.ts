/**
 * hil/plans/paper.yaml and paper-subset.yaml load against the plan schema, declare every role the findings
 * look for, and compare at equal channel uses: each Deep JSCC set and the AKB variants with a fixed action
 * spend 256 complex uses per 32x32 image (the AKB index counted inside them).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModelSet } from '@akb/jscc';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const zoo = join(root, 'models/zoo');

describe('the paper plans', () => {
  for (const name of ['paper', 'paper-subset']) {
    it(`${name}.yaml: every role, equal channel uses, -2 to 20 dB, AWGN and Rayleigh`, async () => {
      const loaded = await loadPlan(join(root, `hil/plans/${name}.yaml`), { defaultZoo: zoo });
      const roles = new Set(loaded.variants.map((v) => v.role));
      expect([...roles].sort()).toEqual(['akb', 'akb-no-kb', 'deepjscc-adaptive', 'deepjscc-fixed-snr', 'deepjscc-matched']);
      expect(loaded.plan.digital).toBe(true);
      expect(loaded.channels.map((c) => c.kind)).toEqual(['awgn', 'rayleigh']);
      expect(Math.min(...loaded.snrsDb)).toBe(-2);
      expect(Math.max(...loaded.snrsDb)).toBeGreaterThanOrEqual(19);
      const fixed = loaded.variants.find((v) => v.role === 'deepjscc-fixed-snr')!;
      expect([fixed.set, fixed.trainedSnrDb]).toEqual(['deepjscc-r12-snr10', 10]);
      const noKb = loaded.variants.find((v) => v.role === 'akb-no-kb')!;
      expect([noKb.set, noKb.kb]).toEqual(['akb-k256', 'off']);
      for (const v of loaded.variants) {
        const set = await loadModelSet(zoo, v.set);
        if (v.role === 'deepjscc-matched' || v.role === 'deepjscc-fixed-snr') expect(v.set, `${v.id} names its training SNR`).toBe(`deepjscc-r12-snr${v.trainedSnrDb}`);
        if (v.policy === 'dqn') continue; // the DQN chooses its own uses; the findings say when they differ
        const action = set.actions[Number(v.policy.slice('fixed:'.length))]!;
        expect([v.id, action.channelUses, action.powerDb]).toEqual([v.id, 256, 0]);
      }
    });
  }
});
