/** Where the fuzz suites are: every `*.fuzz.test.ts` of the checkout (outside node_modules, dist, .git, models), relative to its root. */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', '.git', 'models']);

export function fuzzFiles(dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...fuzzFiles(path));
    else if (entry.name.endsWith('.fuzz.test.ts')) out.push(relative(root, path));
  }
  return out.sort();
}
