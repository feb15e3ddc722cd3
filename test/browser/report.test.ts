/**
 * The demo's HTML report in a real browser: it loads with no network, shows every image pair decoded by
 * the browser itself, draws the PSNR and SNR lines, and escapes hostile image names.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { renderReport } from '@akb/toolkit';
import { CHROMIUM, describeWithProgram, launchChromium } from '../support/index.js';

function image(width: number, height: number, value: number) {
  return { width, height, data: new Float32Array(3 * width * height).fill(value) };
}

describeWithProgram(CHROMIUM.name, CHROMIUM.debianPackage, 'demo report in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders every pair, the chart and the summary; hostile names stay text', async () => {
    // Thrown at it: an image name carrying markup and a script.
    const hostile = '<img src=x onerror="window.pwned=1">.png';
    const html = await renderReport({
      title: 'akb demo',
      subtitle: 'test',
      images: [
        { name: 'cifar-1.jpg', original: image(32, 32, 0.2), reconstruction: image(32, 32, 0.25), psnr: 26.1, tiles: 1, channelUses: 256 },
        { name: hostile, original: image(70, 45, 0.5), reconstruction: image(70, 45, 0.5), psnr: undefined, tiles: 6, channelUses: 1536 },
      ],
      timeline: [
        { t: 0, snrDb: 5, psnr: 24, action: '256 uses, 0 dB' },
        { t: 1, snrDb: 2, psnr: 21, action: '128 uses, 3 dB' },
      ],
      summary: { frames: 7, 'mean PSNR (dB)': 23.1 },
    });
    const file = join(mkdtempSync(join(tmpdir(), 'akb-report-')), 'report.html');
    writeFileSync(file, html);
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    expect(await page.locator('figure.pair').count()).toBe(2);
    // The browser decoded every inlined PNG.
    const decoded = await page.$$eval('figure.pair img', (imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth));
    expect(decoded).toEqual([32, 32, 70, 70]);
    expect(await page.locator('#psnr').getAttribute('points')).toMatch(/^\d/);
    expect(await page.locator('#summary').innerText()).toContain('mean PSNR (dB)');
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('figure.pair figcaption').nth(1).innerText()).toContain('<img src=x');
    expect(failed).toEqual([]);
    await page.screenshot({ path: file.replace('.html', '.png'), fullPage: true });
  });
});
