/**
 * The dashboard's static files: a fixed allow-list, read into memory once when the dashboard starts, so
 * no part of a request's URL ever reaches the file system (a path like `/assets/../../etc/passwd` is just
 * a name that is not in the list). The page lives in runtime-cloud/dashboard/ (shipped by the package's
 * `files`), beside src/ and dist/ alike; uPlot's built files come from its npm package.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** The page's own files, by the name they are served under (/assets/<name>), relative to dashboard/. */
const PAGE_FILES: Readonly<Record<string, { file: string; contentType: string }>> = {
  'app.js': { file: 'app.js', contentType: JS },
  'state.js': { file: 'state.js', contentType: JS },
  'fleet.js': { file: 'fleet.js', contentType: JS },
  'charts.js': { file: 'charts.js', contentType: JS },
  'panels.js': { file: 'panels.js', contentType: JS },
  'dom.js': { file: 'dom.js', contentType: JS },
  'style.css': { file: 'style.css', contentType: CSS },
};

/** uPlot's files (npm package uplot), by the name they are served under. */
const UPLOT_FILES: Readonly<Record<string, { file: string; contentType: string }>> = {
  'uPlot.iife.min.js': { file: 'uplot/dist/uPlot.iife.min.js', contentType: JS },
  'uPlot.min.css': { file: 'uplot/dist/uPlot.min.css', contentType: CSS },
};

export interface Assets {
  /** The page (index.html). */
  readonly index: Asset;
  /** /assets/<name>, looked up by exact name. */
  get(name: string): Asset | undefined;
}

/** Where the page's files are: runtime-cloud/dashboard/, two levels above this file in src/ and dist/. */
export const PAGE_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

export async function loadAssets(pageDir: string = PAGE_DIR): Promise<Assets> {
  const require = createRequire(import.meta.url);
  const files = new Map<string, Asset>();
  const read = async (name: string, path: string, contentType: string): Promise<void> => {
    files.set(name, { body: await readFile(path), contentType });
  };
  await Promise.all([
    ...Object.entries(PAGE_FILES).map(([name, f]) => read(name, `${pageDir}/${f.file}`, f.contentType)),
    ...Object.entries(UPLOT_FILES).map(([name, f]) => read(name, require.resolve(f.file), f.contentType)),
  ]);
  const index: Asset = { body: await readFile(`${pageDir}/index.html`), contentType: HTML };
  return {
    index,
    get: (name) => (Object.hasOwn(PAGE_FILES, name) || Object.hasOwn(UPLOT_FILES, name) ? files.get(name) : undefined),
  };
}
