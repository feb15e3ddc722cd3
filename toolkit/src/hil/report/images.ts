/** Reconstructions beside originals, grouped by variant and channel, inlined as PNG data URLs. */
import { encodePng, ssim, type RgbImage } from '@akb/jscc';
import type { HilResults } from '../results.js';
import { variantName } from './charts.js';
import { esc, num } from './html.js';

/** One reconstruction to show beside its original. */
export interface HilImageSample {
  variant: string;
  channel: string;
  snrDb: number;
  /** The image's name in the plan (file name). */
  image: string;
  original: RgbImage;
  reconstruction: RgbImage;
  psnr: number | null;
  /** Optional so the runner's samples (runner/run.ts HilSample) pass as they are. */
  ssim?: number | null;
}

/** Most samples drawn; the runner picks a few SNRs, this bounds the file if it passes more. */
export const MAX_SAMPLES = 240;

/** The sample's SSIM, computed here when the runner left it out (and the image is large enough for the window). */
function sampleSsim(s: HilImageSample): number | null {
  if (s.ssim !== undefined) return s.ssim;
  const { original: a, reconstruction: b } = s;
  if (a.width !== b.width || a.height !== b.height || a.width < 11 || a.height < 11 || a.width * a.height > 4_000_000) return null;
  return ssim(b.data, a.data, a.width, a.height);
}

async function dataUrl(image: RgbImage): Promise<string> {
  return `data:image/png;base64,${Buffer.from(await encodePng(image)).toString('base64')}`;
}

export async function imagesSection(r: HilResults, samples: readonly HilImageSample[]): Promise<string> {
  if (samples.length === 0) return '<p>No reconstructions were kept for this report.</p>';
  const shown = samples.slice(0, MAX_SAMPLES);
  const groups = new Map<string, HilImageSample[]>();
  for (const s of shown) {
    const key = `${s.variant}\u0000${s.channel}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const out: string[] = [];
  for (const [key, list] of groups) {
    const [variant, channel] = key.split('\u0000') as [string, string];
    const v = r.variants.find((x) => x.id === variant);
    const ch = r.channels.find((x) => x.id === channel);
    const figs: string[] = [];
    for (const s of list.sort((a, b) => a.snrDb - b.snrDb || a.image.localeCompare(b.image))) {
      const scale = s.original.width <= 64 ? 3 : 1;
      const w = Math.min(s.original.width * scale, 256);
      figs.push(`<figure class="pair" data-snr="${s.snrDb}"><div><img alt="original ${esc(s.image)}" width="${w}" src="${await dataUrl(s.original)}"><img alt="reconstruction ${esc(s.image)} at ${s.snrDb} dB" width="${w}" src="${await dataUrl(s.reconstruction)}"></div>
<figcaption><b>${num(s.snrDb, 1)} dB</b> · ${esc(s.image)}<br>PSNR ${num(s.psnr)} dB · SSIM ${num(sampleSsim(s), 3)}</figcaption></figure>`);
    }
    out.push(`<section class="recon" data-variant="${esc(variant)}" data-channel="${esc(channel)}"><h3>${esc(v ? variantName(v) : variant)} · ${esc(ch?.label || channel)}</h3><div class="pairs">${figs.join('\n')}</div></section>`);
  }
  const more = samples.length > shown.length ? `<p>${samples.length - shown.length} more samples were left out (at most ${MAX_SAMPLES} are drawn).</p>` : '';
  return `<p class="note">In each pair: the original (left), the reconstruction (right).</p>${out.join('\n')}${more}`;
}
