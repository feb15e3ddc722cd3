/**
 * The list of fuzz suites in test/fuzz/README.md is the one place their case counts are written: every
 * `*.fuzz.test.ts` of the repository has a row, every row names a file that exists, the rows add up to the
 * total written under them, and that total is at least 100,000 cases per CI run. `npm run fuzz` prints the
 * counts the suites actually ran; this test keeps the table honest without running them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzFiles, root } from './files.js';
import { describe, expect, it } from 'vitest';



function table(): { rows: Map<string, number>; total: number } {
  const text = readFileSync(join(root, 'test/fuzz/README.md'), 'utf8');
  const rows = new Map<string, number>();
  let total = Number.NaN;
  for (const line of text.split('\n')) {
    const row = /^\| ([\w./-]+\.fuzz\.test\.ts) \|[^|]*\| (\d+) \|$/.exec(line);
    if (row) rows.set(row[1]!, Number(row[2]));
    const sum = /^\| \*\*total\*\* \| +\| \*\*(\d+)\*\* \|$/.exec(line);
    if (sum) total = Number(sum[1]);
  }
  return { rows, total };
}

describe('the fuzz suite catalogue', () => {
  it('lists every fuzz suite, and only existing ones', () => {
    const { rows } = table();
    expect([...rows.keys()].sort()).toEqual(fuzzFiles());
    for (const f of rows.keys()) expect(existsSync(join(root, f))).toBe(true);
  });

  it('adds up to its total, at least 100,000 cases per CI run', () => {
    const { rows, total } = table();
    expect([...rows.values()].reduce((a, b) => a + b, 0)).toBe(total);
    expect(total).toBeGreaterThanOrEqual(100_000);
  });

  it('matches the counts the suites ask for (the sum of the fuzzRuns bases in each file)', () => {
    // Each suite's count is the sum of the literal bases it passes to fuzzRuns.
    for (const [file, count] of table().rows) {
      const source = readFileSync(join(root, file), 'utf8');
      const bases = [...source.matchAll(/fuzzRuns\(([\d_]+)/g)].map((m) => Number(m[1]!.replaceAll('_', '')));
      expect(bases.reduce((a, b) => a + b, 0), file).toBe(count);
    }
  });
});
