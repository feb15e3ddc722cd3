/**
 * The one knob of every fuzz suite: `fuzzRuns(base)` gives fast-check's parameters for a property whose CI
 * count is `base` cases, scaled by AKB_FUZZ_SCALE (default 1; 0.1 for a quick look, 20 for a long run).
 * With AKB_FUZZ_SEED set, each property gets a seed derived from it and the test's name, so a long run
 * that repeats the suites with seeds 1, 2, 3… draws new cases every round and any failure replays
 * (`AKB_FUZZ_SEED=<n> npx vitest run <file> -t <name>`, or the seed and path fast-check prints).
 *
 * With AKB_FUZZ_LEDGER naming a file, every property appends one JSON line {file, test, runs} when it
 * asks for its parameters, and every fuzz file appends {file, maxRssKiB} when it ends: the long run
 * (test/fuzz/long-run.ts) sums them. test/fuzz/README.md lists the suites and their counts.
 */
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type fc from 'fast-check';
import { afterAll, expect } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** AKB_FUZZ_SCALE as a positive number (default 1); anything else is refused loudly, not ignored. */
export function fuzzScale(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.AKB_FUZZ_SCALE;
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`AKB_FUZZ_SCALE must be a positive number, not ${JSON.stringify(text)}`);
  return scale;
}

/** FNV-1a of `text`, as a 31-bit seed. */
function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) & 0x7fffffff;
}

/** The fuzz file of this worker (vitest isolates each test file in its own module graph). */
let thisFile = '?';

function currentTest(): { file: string; test: string } {
  const state = expect.getState();
  if (state.testPath !== undefined) thisFile = relative(root, state.testPath);
  return { file: thisFile, test: state.currentTestName ?? '?' };
}

function ledger(entry: Record<string, unknown>): void {
  const file = process.env.AKB_FUZZ_LEDGER;
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/**
 * fast-check parameters for `base` CI cases (at least 1 after scaling), merged over `extra`. Call it inside
 * the `it` (it reads the test's name).
 */
export function fuzzRuns<T = unknown>(base: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  const numRuns = Math.max(1, Math.round(base * fuzzScale()));
  const where = currentTest();
  const seedText = process.env.AKB_FUZZ_SEED;
  const seed = seedText === undefined || seedText === '' ? undefined : hashSeed(`${seedText}:${where.file}:${where.test}`);
  ledger({ ...where, runs: numRuns, ...(seed === undefined ? {} : { seed }) });
  return { ...extra, numRuns, ...(seed === undefined ? {} : { seed }) };
}

afterAll(() => {
  ledger({ file: thisFile, maxRssKiB: process.resourceUsage().maxRSS });
});

/** The bytes ArrayBuffers hold now (external memory): what a parser's allocation of a claimed size would raise. */
export function arrayBufferBytes(): number {
  return process.memoryUsage().arrayBuffers;
}

/**
 * Runs `fn` and returns how far ArrayBuffer memory rose over it: a parser that allocated a claimed size of
 * gigabytes before checking it shows up here (a rise is also bounded by what the test itself allocates).
 */
export function arrayBufferGrowth(fn: () => void): number {
  const before = arrayBufferBytes();
  fn();
  return arrayBufferBytes() - before;
}
