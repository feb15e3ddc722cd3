/**
 * Writes the report folder of a run: results.json (validated against the contract first: a runner bug
 * must not produce a file the report and compare refuse), points.csv, summary.csv and report.html.
 */
import { join } from 'node:path';
import { HilResults } from './results.js';
import { writeAtomic, writeTables } from './output.js';
import { renderMinimalReport } from './minimal-report.js';
import type { HilSample } from './runner/run.js';

export async function writeReport(folder: string, results: HilResults, _samples: readonly HilSample[]): Promise<string[]> {
  HilResults.parse(results);
  const files = await writeTables(folder, results);
  const html = join(folder, 'report.html');
  await writeAtomic(html, renderMinimalReport(results));
  return [...files, html];
}
