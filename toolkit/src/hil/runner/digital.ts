/**
 * The digital JPEG-at-capacity baseline (jscc's digitalBaseline) beside the sweep: per channel (AWGN and
 * Rayleigh; the other channels have no digital model and get no rows) and SNR, at the channel uses per
 * image that the plan's first variant spent on that channel (the mean over its points), on the same images.
 */
import { digitalBaseline, jpegTable } from '@akb/jscc';
import type { LoadedPlan } from '../plan-load.js';
import type { PlanImage } from '../images.js';
import type { DigitalRow, HilPoint } from '../results.js';

export async function digitalRows(loaded: LoadedPlan, images: PlanImage[], points: readonly HilPoint[]): Promise<DigitalRow[]> {
  const first = points[0]?.variant;
  if (first === undefined) return [];
  const table = await jpegTable(images.map((i) => i.image));
  const rows: DigitalRow[] = [];
  for (const c of loaded.channels) {
    if (c.kind !== 'awgn' && c.kind !== 'rayleigh') continue;
    const mine = points.filter((p) => p.variant === first && p.channel === c.id);
    if (mine.length === 0) continue;
    const uses = Math.round(mine.reduce((a, p) => a + p.channelUses, 0) / mine.length);
    if (uses <= 0) continue;
    const out = await digitalBaseline({ images: images.map((i) => i.image), snrsDb: loaded.snrsDb, channelUses: uses, channel: c.kind, seed: loaded.plan.seed, table });
    for (const r of out) rows.push({ channel: c.id, snrDb: r.snrDb, channelUses: uses, n: r.n, psnrMean: r.psnrMean, ssimMean: r.ssimMean, failed: r.failed });
  }
  return rows;
}
