/**
 * The HIL report in a real browser (Debian's chromium): it loads from a file with no request failing and
 * none leaving the file, each quality chart has a drawn path per variant plus the dashed baseline, every
 * inlined PNG decodes, hostile names stay text and run nothing. A full-page screenshot is kept in
 * test/.artifacts/hil-report.png for a person to look at.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { renderHilReport, type HilImageSample } from '../../toolkit/src/hil/report/index.js';
import { compareResults, renderComparison } from '../../toolkit/src/hil/compare.js';
import { fixtureResults, HOSTILE, rampImage } from '../hil/report-fixture.js';
import { CHROMIUM, describeWithProgram, launchChromium } from '../support/index.js';

const artifacts = fileURLToPath(new URL('../.artifacts/', import.meta.url));

describeWithProgram(CHROMIUM.name, CHROMIUM.debianPackage, 'HIL report in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('loads offline, draws a path per variant, decodes every image, keeps hostile names as text', async () => {
    const samples: HilImageSample[] = [];
    for (const variant of ['akb', 'deep']) {
      for (const snrDb of [0, 10]) {
        samples.push({ variant, channel: 'awgn', snrDb, image: `${HOSTILE}.png`, original: rampImage(32, 32, 0.2), reconstruction: rampImage(32, 32, 0.25 + snrDb / 100), psnr: 20 + snrDb / 2, ssim: 0.6 });
      }
    }
    samples.push({ variant: 'akb', channel: 'rayleigh', snrDb: 5, image: 'kodim05.png', original: rampImage(96, 64, 0.4), reconstruction: rampImage(96, 64, 0.45), psnr: 24, ssim: 0.7 });
    const html = await renderHilReport(fixtureResults(), samples);
    const file = join(mkdtempSync(join(tmpdir(), 'akb-hil-report-')), 'report.html');
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const failed: string[] = [];
    const requested: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('request', (r) => requested.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    // Four quality charts (2 channels x PSNR, SSIM), each with a drawn path per variant and the baseline.
    const charts = page.locator('.chart-box[data-metric="psnr"], .chart-box[data-metric="ssim"]');
    expect(await charts.count()).toBe(4);
    for (let i = 0; i < 4; i++) {
      // No DOM types in the tests' TypeScript: the page's elements are described by what is used of them.
      interface SvgEl {
        getAttribute(n: string): string | null;
        querySelector(s: string): (SvgEl & { getTotalLength(): number }) | null;
      }
      const lines = await charts.nth(i).locator('g.series').evaluateAll((gs: unknown[]) =>
        (gs as SvgEl[]).map((g) => {
          const path = g.querySelector('path')!;
          return { id: g.getAttribute('data-series'), length: path.getTotalLength(), dashed: path.getAttribute('stroke-dasharray') !== null };
        }),
      );
      expect(lines.map((l) => l.id)).toEqual(['akb', 'deep', 'digital']);
      for (const l of lines) expect(l.length).toBeGreaterThan(50);
      expect(lines.map((l) => l.dashed)).toEqual([false, false, true]);
    }
    // The legend names every variant, the hostile one as text.
    expect(await page.locator('.chart-box').first().locator('ul.legend').innerText()).toContain(`AKB-JSCC ${HOSTILE}`);

    // Every inlined PNG decoded by the browser itself, at its own size.
    const sizes = await page.$$eval('figure.pair img', (imgs) => imgs.map((i) => [(i as unknown as { naturalWidth: number }).naturalWidth, (i as unknown as { complete: boolean }).complete]));
    expect(sizes).toHaveLength(10);
    expect(sizes.filter(([w]) => w === 32)).toHaveLength(8);
    expect(sizes.filter(([w]) => w === 96)).toHaveLength(2);

    expect(await page.locator('#verdict').innerText()).toContain('FAILED');
    expect(await page.locator('#findings li').first().innerText()).toContain('<img src=x');
    expect(await page.locator('#thresholds .badge.fail').count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requested.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'hil-report.png'), fullPage: true });
  });

  it('draws the comparison page: both runs per variant on one plot, b dashed, offline', async () => {
    const a = fixtureResults();
    const b = fixtureResults({ psnrShift: 1, snrs: [5, 10, 15, 20] });
    const file = join(mkdtempSync(join(tmpdir(), 'akb-hil-compare-')), 'compare.html');
    writeFileSync(file, renderComparison(compareResults(a, b, { a: 'a/results.json', b: 'b/' }), a, b));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const charts = page.locator('.chart-box');
    expect(await charts.count()).toBe(4);
    const ids = await charts.first().locator('g.series').evaluateAll((gs: unknown[]) => (gs as { getAttribute(n: string): string | null }[]).map((g) => g.getAttribute('data-series')));
    expect(ids).toEqual(['a:akb', 'b:akb', 'a:deep', 'b:deep']);
    expect(await page.locator('#both tbody tr').count()).toBe(12);
    expect(await page.locator('#only tbody tr').count()).toBe(8);
    expect(await page.locator('#both tbody tr').first().innerText()).toContain('+1.00');
    expect(failed).toEqual([]);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'hil-compare.png'), fullPage: true });
  });
});
