/**
 * The package arrows of DESIGN.md, held by reading every workspace's package.json and every import in its
 * sources (static, dynamic and `export … from`): a package may depend only on the packages listed for it
 * here, and no file may reach into another package by a relative path (a package's tests may use the
 * shared helpers under test/). Tests inside a package keep its arrows too: a test that spans packages
 * belongs under test/. A new workspace fails this test until it is given a row.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Who may import whom: workspace folder → the @akb packages it may use. */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  devices: ['@akb/protocol'],
  jscc: ['@akb/protocol'],
  link: ['@akb/protocol'],
  'toolkit/quantize': ['@akb/jscc', '@akb/protocol'],
  'toolkit/flash': ['@akb/devices', '@akb/protocol'],
  'runtime-edge': ['@akb/jscc', '@akb/link', '@akb/devices', '@akb/flash', '@akb/protocol'],
  'runtime-cloud': ['@akb/jscc', '@akb/protocol'],
  toolkit: ['@akb/protocol', '@akb/devices', '@akb/jscc', '@akb/link', '@akb/quantize', '@akb/flash', '@akb/edge', '@akb/cloud'],
};

const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every module specifier a file names: import/export … from '…', import('…'), import '…'. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s+'([^']+)'/g, /\bfrom\s+"([^"]+)"/g, /\bimport\s*\(\s*'([^']+)'\s*\)/g, /^\s*import\s+'([^']+)'/gm];
  for (const p of patterns) for (const m of text.matchAll(p)) out.push(m[1]!);
  return out;
}

/** The package name of an @akb specifier (`@akb/protocol/mqtt` → `@akb/protocol`). */
const packageOf = (spec: string): string => spec.split('/').slice(0, 2).join('/');

/** The workspace folder that owns a file (the longest matching workspace path). */
function ownerOf(file: string): string | undefined {
  const rel = relative(root, file).split(sep).join('/');
  return [...workspaces].sort((a, b) => b.length - a.length).find((w) => rel === w || rel.startsWith(`${w}/`));
}

describe('package boundaries (DESIGN.md: who may import whom)', () => {
  it('every workspace has a row', () => {
    expect([...workspaces].sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  for (const ws of workspaces) {
    const allowed = new Set(ALLOWED[ws] ?? []);
    const self = (JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8')) as { name: string }).name;

    it(`${ws}: package.json names only allowed @akb packages`, () => {
      const pkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
      const deps = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {}));
      const bad = deps.filter((d) => d.startsWith('@akb/') && !allowed.has(d));
      expect(bad, `${ws} may depend on ${[...allowed].join(', ') || 'no @akb package'}`).toEqual([]);
    });

    it(`${ws}: sources import only allowed packages and stay inside the package`, () => {
      const bad: string[] = [];
      for (const file of sourceFiles(join(root, ws))) {
        if (ownerOf(file) !== ws) continue; // a nested workspace (toolkit/quantize inside toolkit)
        for (const spec of specifiers(readFileSync(file, 'utf8'))) {
          const where = relative(root, file);
          if (spec.startsWith('@akb/')) {
            const target = packageOf(spec);
            if (target !== self && !allowed.has(target)) bad.push(`${where}: ${spec}`);
          } else if (spec.startsWith('.')) {
            const path = resolve(dirname(file), spec);
            // A package's tests may use the shared test helpers under test/ (STYLE.md: helpers live there).
            if (/\.test\.ts$/.test(file) && relative(root, path).startsWith(`test${sep}`)) continue;
            const target = ownerOf(path);
            if (target !== ws) bad.push(`${where}: ${spec} (a relative path into ${target ?? 'outside any package'})`);
          }
        }
      }
      expect(bad).toEqual([]);
    });
  }

  it('finds the arrows it forbids (a cloud file importing the edge, a relative reach into link)', () => {
    const text = "import { x } from '@akb/edge';\nexport { y } from '../../link/src/index.js';\nconst z = await import('@akb/link');";
    expect(specifiers(text)).toEqual(['@akb/edge', '../../link/src/index.js', '@akb/link']);
    expect(ALLOWED['runtime-cloud']).not.toContain('@akb/edge');
    expect(ALLOWED['runtime-cloud']).not.toContain('@akb/link');
  });
});
