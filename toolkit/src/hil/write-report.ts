/**
 * Writes the report folder of a run: results.json (validated against the contract first: a runner bug
 * must not produce a file the report and compare refuse), points.csv, summary.csv and report.html (the
 * full report, report/index.ts, with the kept reconstructions beside their originals).
 */
import { join } from 'node:path';
import { HilResults } from './results.js';
import { writeAtomic, writeTables } from './output.js';
import { renderHilReport } from './report/index.js';
import type { HilSample } from './runner/run.js';

export async function writeReport(folder: string, results: HilResults, samples: readonly HilSample[]): Promise<string[]> {
  HilResults.parse(results);
  const files = await writeTables(folder, results);
  const html = join(folder, 'report.html');
  await writeAtomic(html, await renderHilReport(results, samples));
  return [...files, html];
}
