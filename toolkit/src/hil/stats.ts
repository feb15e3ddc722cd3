/**
 * From points to what a reader compares: summary rows per (variant, channel, SNR) with mean, standard
 * deviation, p50 and p95, and the plan's thresholds evaluated on the points they name.
 */
import type { HilPoint, HilSummaryRow, StageTimes, ThresholdResult } from './results.js';
import type { LoadedPlan } from './plan-load.js';
import type { ThresholdPlan } from './plan.js';

const STAGES = ['encode', 'policy', 'send', 'channel', 'decode', 'total'] as const;

export function mean(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); 0 for one value, null for none. */
export function std(xs: readonly number[]): number | null {
  const m = mean(xs);
  if (m === null) return null;
  if (xs.length === 1) return 0;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Percentile by linear interpolation between closest ranks (numpy's default). */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

function stagePercentile(points: readonly HilPoint[], p: number): StageTimes {
  const out: StageTimes = {};
  for (const stage of STAGES) {
    const v = percentile(points.map((x) => x.latencyMs[stage]).filter((x): x is number => x !== undefined), p);
    if (v !== null) out[stage] = v;
  }
  return out;
}

const key = (variant: string, channel: string, snrDb: number): string => `${variant}\u0000${channel}\u0000${snrDb}`;

export function summarize(points: readonly HilPoint[]): HilSummaryRow[] {
  const groups = new Map<string, HilPoint[]>();
  for (const p of points) {
    const k = key(p.variant, p.channel, p.snrDb);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = []));
    g.push(p);
  }
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const psnr = g.map((p) => p.psnr).filter((x): x is number => x !== null);
    const ssim = g.map((p) => p.ssim).filter((x): x is number => x !== null);
    return {
      variant: first.variant,
      channel: first.channel,
      snrDb: first.snrDb,
      n: g.length,
      psnrMean: mean(psnr),
      psnrStd: std(psnr),
      ssimMean: mean(ssim),
      channelUsesMean: mean(g.map((p) => p.channelUses)) ?? 0,
      completeRate: g.filter((p) => p.complete).length / g.length,
      latencyP50Ms: stagePercentile(g, 50),
      latencyP95Ms: stagePercentile(g, 95),
    };
  });
}

function describe(t: ThresholdPlan): string {
  const where = [t.channel, t.snrDb === undefined ? undefined : `${t.snrDb} dB`].filter(Boolean).join(' ');
  const against = t.metric === 'psnrLossDb' && t.baseline !== undefined ? ` vs ${t.baseline}` : '';
  return `${t.variant} ${t.metric}${against} ${t.op} ${t.value}${where ? ` at ${where}` : ''}`;
}

/** The float variant of the same set, kb and policy: what a quantized variant's PSNR loss is measured against. */
function defaultBaseline(loaded: LoadedPlan, variant: string): string | undefined {
  const v = loaded.variants.find((x) => x.id === variant);
  if (v === undefined) return undefined;
  return loaded.variants.find((x) => x.id !== v.id && x.set === v.set && x.kb === v.kb && x.policy === v.policy && x.precision === 'float')?.id;
}

/**
 * The plan's thresholds over the points. `planVariantOf` maps a results variant id to the plan's (with
 * several targets, `akb` runs as `akb.local` and `akb.cam-01`, and a threshold on `akb` covers both).
 */
export function evaluateThresholds(loaded: LoadedPlan, points: readonly HilPoint[], planVariantOf: (id: string) => string = (id) => id): ThresholdResult[] {
  return loaded.plan.thresholds.map((t) => {
    const where = (p: HilPoint, variant: string): boolean =>
      planVariantOf(p.variant) === variant && (t.channel === undefined || p.channel === t.channel) && (t.snrDb === undefined || p.snrDb === t.snrDb);
    const of = (variant: string): HilPoint[] => points.filter((p) => where(p, variant));
    const mine = of(t.variant);
    const psnrMean = (ps: HilPoint[]): number | null => mean(ps.map((p) => p.psnr).filter((x): x is number => x !== null));
    let measured: number | null;
    switch (t.metric) {
      case 'psnr':
        measured = psnrMean(mine);
        break;
      case 'ssim':
        measured = mean(mine.map((p) => p.ssim).filter((x): x is number => x !== null));
        break;
      case 'completeRate':
        measured = mine.length === 0 ? null : mine.filter((p) => p.complete).length / mine.length;
        break;
      case 'latencyTotalP95Ms':
        measured = percentile(mine.map((p) => p.latencyMs.total).filter((x): x is number => x !== undefined), 95);
        break;
      case 'psnrLossDb': {
        const base = t.baseline ?? defaultBaseline(loaded, t.variant);
        const a = base === undefined ? null : psnrMean(of(base));
        const b = psnrMean(mine);
        measured = a === null || b === null ? null : a - b;
        break;
      }
    }
    const pass = measured !== null && (t.op === '>=' ? measured >= t.value : measured <= t.value);
    return { description: describe(t), metric: t.metric, op: t.op, value: t.value, measured, pass };
  });
}
