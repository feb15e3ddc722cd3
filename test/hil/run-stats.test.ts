/**
 * The runner's arithmetic on hand-made points: summary rows (mean, sample std, p50/p95 by linear
 * interpolation), thresholds (each metric, a threshold matching no point fails, psnrLossDb against the
 * float twin by default or a named baseline, several targets mapped back to the plan's variant), CSV quoting.
 */
import { describe, expect, it } from 'vitest';
import { evaluateThresholds, percentile, std, summarize } from '../../toolkit/src/hil/stats.js';
import { pointsCsv } from '../../toolkit/src/hil/output.js';
import type { LoadedPlan } from '../../toolkit/src/hil/plan-load.js';
import type { HilPoint } from '../../toolkit/src/hil/results.js';
import type { ThresholdPlan } from '../../toolkit/src/hil/plan.js';

function point(variant: string, snrDb: number, psnr: number | null, over: Partial<HilPoint> = {}): HilPoint {
  return {
    variant, channel: 'awgn', snrDb, rep: 0, image: 'a.png', psnr, ssim: psnr === null ? null : psnr / 40, channelUses: 256, tiles: 1,
    tilesDecoded: psnr === null ? 0 : 1, complete: psnr !== null, actions: { '7': 1 }, latencyMs: { total: 10 * (psnr ?? 1) }, ...over,
  };
}

function plan(thresholds: Partial<ThresholdPlan>[]): LoadedPlan {
  const v = (id: string, precision: 'float' | 'int8') => ({ id, set: 'akb-k256', precision, kb: 'on' as const, policy: 'fixed:7' });
  return {
    plan: { thresholds: thresholds.map((t) => ({ op: '>=', value: 0, metric: 'psnr', variant: 'f', ...t })) },
    variants: [v('f', 'float'), v('q', 'int8')],
  } as unknown as LoadedPlan;
}

describe('hil stats', () => {
  it('percentile interpolates linearly between ranks; std is the sample one', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 0, 20], 95)).toBeCloseTo(19, 10);
    expect(percentile([], 50)).toBeNull();
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138, 3);
    expect(std([3])).toBe(0);
  });

  it('summarizes per (variant, channel, SNR), leaving undecoded images out of the PSNR but in completeRate', () => {
    const rows = summarize([point('f', 0, 20), point('f', 0, 22), point('f', 0, null), point('f', 5, 30)]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ variant: 'f', snrDb: 0, n: 3, psnrMean: 21, completeRate: 2 / 3, channelUsesMean: 256 });
    expect(rows[0]!.psnrStd).toBeCloseTo(Math.SQRT2, 10);
    expect(rows[0]!.latencyP50Ms.total).toBe(200);
    expect(rows[1]).toMatchObject({ snrDb: 5, n: 1, psnrStd: 0 });
  });

  it('evaluates each metric; no matching point fails; psnrLossDb against the float twin or a named baseline', () => {
    const points = [point('f', 0, 20), point('f', 5, 30), point('q', 0, 19), point('q', 5, 28), point('q', 5, null)];
    const r = evaluateThresholds(
      plan([
        { metric: 'psnr', snrDb: 5, op: '>=', value: 29.5 },
        { metric: 'ssim', variant: 'q', op: '>=', value: 0.6 },
        { metric: 'completeRate', variant: 'q', op: '>=', value: 0.7 },
        { metric: 'latencyTotalP95Ms', op: '<=', value: 300 },
        { metric: 'psnrLossDb', variant: 'q', op: '<=', value: 1.5 },
        { metric: 'psnrLossDb', variant: 'f', baseline: 'q', op: '<=', value: 0 },
        { metric: 'psnr', snrDb: 40 },
      ]),
      points,
    );
    expect(r.map((t) => [t.measured === null ? null : Math.round(t.measured * 1e4) / 1e4, t.pass])).toEqual([
      [30, true],
      [0.5875, false],
      [0.6667, false],
      [295, true],
      [1.5, true],
      [-1.5, true],
      [null, false],
    ]);
    expect(r[4]!.description).toBe('q psnrLossDb <= 1.5');
    expect(r[6]!.description).toBe('f psnr >= 0 at 40 dB');
  });

  it('maps results variants of several targets back to the plan variant', () => {
    const points = [point('f.local', 0, 20), point('f.cam-01', 0, 24)];
    const [t] = evaluateThresholds(plan([{ metric: 'psnr', op: '>=', value: 21 }]), points, (id) => id.split('.')[0]!);
    expect(t).toMatchObject({ measured: 22, pass: true });
  });

  it('quotes CSV cells that hold commas or quotes', () => {
    const csv = pointsCsv([point('f', 0, 20, { image: 'a, "b".png' })]).split('\n');
    expect(csv[1]).toMatch(/^f,awgn,0,0,"a, ""b""\.png",20,0\.5000,256,1,1,true,7:1,,,,,,200$/);
  });
});
