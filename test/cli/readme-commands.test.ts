/**
 * Every command a README shows works right after `npm ci`: each `akb …`, `akb-edge …`, `akb-cloud …` and `akb-agent …`
 * line in a code block of a README is run with `--help` through node_modules/.bin, as `npx` would, and must
 * exit 0 with a usage text. The bins are committed launchers; `npm ci` builds what they load (`prepare`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const run = promisify(execFile);
const BINS = ['akb', 'akb-edge', 'akb-cloud', 'akb-agent'];

function readmes(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...readmes(path));
    else if (name === 'README.md') out.push(path);
  }
  return out;
}

/** `bin word word` from each line of a fenced block that starts with one of the bins (the command words only). */
function commandsIn(markdown: string): string[] {
  const found: string[] = [];
  let fenced = false;
  for (const raw of markdown.split('\n')) {
    if (raw.trimStart().startsWith('```')) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) continue;
    const tokens = raw.trim().replace(/^npx\s+/, '').split(/\s+/);
    if (!BINS.includes(tokens[0] ?? '')) continue;
    const words = [tokens[0]!];
    for (const t of tokens.slice(1)) {
      if (!/^[a-z][a-z0-9-]*$/.test(t)) break;
      words.push(t);
    }
    found.push(words.join(' '));
  }
  return found;
}

const commands = new Map<string, string>();
for (const file of readmes(root)) {
  for (const c of commandsIn(readFileSync(file, 'utf8'))) if (!commands.has(c)) commands.set(c, relative(root, file));
}

describe('README commands through node_modules/.bin', () => {
  it('finds the commands of the READMEs (all four programs)', () => {
    const bins = new Set([...commands.keys()].map((c) => c.split(' ')[0]));
    expect([...bins].sort()).toEqual([...BINS].sort());
  });

  for (const [command, file] of commands) {
    it(`${command} --help (${file})`, async () => {
      const [bin, ...words] = command.split(' ');
      const path = join(root, 'node_modules', '.bin', bin!);
      expect(existsSync(path), `${path} is not linked: run npm ci`).toBe(true);
      const { stdout } = await run(path, [...words, '--help'], { cwd: root, timeout: 20_000 });
      expect(stdout).toMatch(new RegExp(`^${bin}\\b`, 'm'));
    });
  }
});
