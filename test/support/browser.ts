/**
 * A real browser for page tests: Debian's chromium driven by playwright-core (no browser download), with
 * the flags this sandbox needs (no sandbox as root, no background networking).
 */
import type { Browser } from 'playwright-core';
import { findProgram } from './programs.js';

export const CHROMIUM = { name: 'chromium', debianPackage: 'chromium' } as const;

export async function launchChromium(): Promise<Browser> {
  const executablePath = findProgram('chromium') ?? '/usr/bin/chromium';
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
