/**
 * The HIL report's HTML from a hand-made results file (valid by the schema) with hostile names: every
 * section is there, every name is escaped, each quality chart has a line per variant plus the dashed
 * digital one, and the file has no reference to anything outside itself.
 */
import { describe, expect, it } from 'vitest';
import { HilResults } from '../../toolkit/src/hil/results.js';
import { MAX_SAMPLES, renderHilReport, type HilImageSample } from '../../toolkit/src/hil/report/index.js';
import { MAX_TIMELINE_POINTS } from '../../toolkit/src/hil/report/charts.js';
import { ticks } from '../../toolkit/src/hil/report/svg.js';
import { fixtureResults, HOSTILE, rampImage } from './report-fixture.js';

const samples: HilImageSample[] = [0, 10].map((snrDb) => ({
  variant: 'akb',
  channel: 'awgn',
  snrDb,
  image: `${HOSTILE}.png`,
  original: rampImage(32, 32, 0.3),
  reconstruction: rampImage(32, 32, 0.35),
  psnr: 21.5,
  ssim: 0.61,
}));

describe('HIL report', () => {
  it('the fixture is a valid results file', () => {
    expect(HilResults.safeParse(fixtureResults()).success).toBe(true);
  });

  it('draws every section and escapes every hostile string', async () => {
    const html = await renderHilReport(fixtureResults(), samples);
    // Thrown at it: plan, variant, image, machine, threshold and finding strings carrying an <img onerror>.
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&#60;img src=x onerror=&#34;window.pwned=1&#34;&#62;');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('<b>bold?</b>');
    for (const id of ['verdict', 'findings', 'thresholds', 'run', 'machine', 'variants', 'channels', 'summary', 'plan-hash']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('ab'.repeat(32));
    expect(html).toContain('FAILED: 1 of 2 thresholds failed');
    // No network: nothing but data URLs and in-page anchors.
    expect(html.match(/\b(?:src|href)="(?!data:)[^"]*"/g) ?? []).toEqual([]);
    expect(html).not.toMatch(/url\(/);
  });

  it('draws one quality chart per channel and metric, a line per variant and the dashed baseline', async () => {
    const html = await renderHilReport(fixtureResults(), []);
    const boxes = [...html.matchAll(/<div class="chart-box" data-channel="(\w+)" data-metric="(psnr|ssim)">([\s\S]*?)<\/figure><\/div>/g)];
    expect(boxes.map((b) => `${b[1]}/${b[2]}`)).toEqual(['awgn/psnr', 'awgn/ssim', 'rayleigh/psnr', 'rayleigh/ssim']);
    for (const b of boxes) {
      const series = [...b[3]!.matchAll(/data-series="([^"]+)"><path d="(M[^"]+)"[^>]*?( stroke-dasharray="6 4")?\/>/g)];
      expect(series.map((s) => s[1])).toEqual(['akb', 'deep', 'digital']);
      expect(series.map((s) => Boolean(s[3]))).toEqual([false, false, true]);
      // Four SNRs: one move and three line segments per series.
      for (const s of series) expect(s[2]!.match(/[ML]/g)).toHaveLength(4);
    }
  });

  it('breaks a line where a mean is missing and keeps the report readable with no samples or timeline', async () => {
    const r = fixtureResults();
    r.summary.find((s) => s.variant === 'akb' && s.channel === 'awgn' && s.snrDb === 5)!.psnrMean = null;
    r.timeline = [];
    r.stagesMs = {};
    const html = await renderHilReport(r, []);
    const akb = html.match(/data-channel="awgn" data-metric="psnr">[\s\S]*?data-series="akb"><path d="([^"]+)"/)![1]!;
    expect(akb.match(/M/g)).toHaveLength(2);
    expect(html).toContain('No reconstructions were kept');
    expect(html).toContain('The run recorded no timeline.');
    expect(html).toContain('No wall time by stage was recorded.');
  });

  it('draws latency stacked per variant and the rate over time', async () => {
    const html = await renderHilReport(fixtureResults(), samples);
    const latency = html.match(/<figure class="chart latency">[\s\S]*?<\/figure>/)![0];
    expect(latency.match(/class="bar-row"/g)).toHaveLength(2);
    expect([...latency.matchAll(/data-key="(\w+)"/g)].map((m) => m[1]).slice(0, 5)).toEqual(['encode', 'policy', 'send', 'channel', 'decode']);
    expect(latency).toContain('12.5 ms');
    expect(html).toMatch(/data-metric="rate">[\s\S]*?data-series="akb"><path d="M[^"]*H/); // a step line
    expect(html.match(/<figure class="pair"/g)).toHaveLength(2);
    // The wall time leaves out the run's total as a stage and takes its shares of it.
    const r = fixtureResults();
    r.stagesMs = { total: 10_000, decode: 2500, encode: 500 };
    const wall = (await renderHilReport(r, [])).match(/<figure class="chart wall">[\s\S]*?<\/figure>/)![0];
    expect([...wall.matchAll(/data-label="([^"]+)"/g)].map((m) => m[1])).toEqual(['decode (25.0%)', 'encode (5.0%)']);
    expect(wall).toContain('total 10.0 s');
  });

  it('computes the SSIM of a sample when the runner left it out', async () => {
    const { ssim, ...rest } = samples[0]!;
    void ssim;
    const html = await renderHilReport(fixtureResults(), [{ ...rest, reconstruction: rampImage(32, 32, 0.3) }]);
    expect(html).toContain('SSIM 1.000');
  });

  it('draws one dashed baseline per channel-use budget', async () => {
    const r = fixtureResults();
    r.digital.push(...r.digital.map((d) => ({ ...d, channelUses: 512, psnrMean: d.psnrMean! + 3 })));
    const html = await renderHilReport(r, []);
    const box = html.match(/data-channel="rayleigh" data-metric="psnr">([\s\S]*?)<\/figure><\/div>/)![1]!;
    expect([...box.matchAll(/data-series="([^"]+)"/g)].map((m) => m[1])).toEqual(['akb', 'deep', 'digital-256', 'digital-512']);
    expect(box).toContain('digital: JPEG at capacity, 512 uses');
  });

  it('bounds what it draws: timelines thinned, samples capped', async () => {
    const r = fixtureResults();
    // Thrown at it: 20,000 timeline entries for one variant and 300 samples.
    r.timeline = Array.from({ length: 20_000 }, (_, i) => ({ t: i / 10, variant: 'akb', channel: 'awgn', snrDb: 5, actionId: i % 4, channelUses: 64 * (1 + (i % 4)), powerDb: 0, psnr: null }));
    const many = Array.from({ length: 300 }, (_, i) => ({ ...samples[0]!, image: `img-${i}.png` }));
    const html = await renderHilReport(r, many);
    const rate = html.match(/data-metric="rate">[\s\S]*?data-series="akb"><path d="([^"]+)"/)![1]!;
    expect(rate.match(/[ML]/g)).toHaveLength(MAX_TIMELINE_POINTS);
    expect(html.match(/<figure class="pair"/g)).toHaveLength(MAX_SAMPLES);
    expect(html).toContain(`${300 - MAX_SAMPLES} more samples were left out`);
  });

  it('picks round axis ticks', () => {
    expect(ticks(0, 10, 5)).toEqual([0, 2.5, 5, 7.5, 10]);
    expect(ticks(-2.3, 20.1, 6)).toEqual([0, 5, 10, 15, 20]);
    expect(ticks(0.41, 0.93, 5)).toEqual([0.5, 0.6, 0.7, 0.8, 0.9]);
  });
});
