import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// As users run it: the built bin in a child process (npm test builds first), the document piped in.
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const card = fileURLToPath(new URL('../../../models/zoo/akb-dqn-policy/card.json', import.meta.url));
const akb = (input: string | undefined, ...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, AKB_DEBUG: '' }, ...(input !== undefined ? { input } : {}) });

describe('akb message validate', () => {
  it('reads the document from stdin for - (yargs used to take the lone - for an empty option and read the file "")', () => {
    const r = akb(readFileSync(card, 'utf8'), 'message', 'validate', 'model-card', '-');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('standard input: valid model-card');
  });

  it('refuses an invalid document on stdin in one line, exit 1, and still reads a named file', () => {
    const bad = akb('{"name": 1}', 'message', 'validate', 'model-card', '-');
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^akb: model-card: /);
    const notJson = akb('not json', 'message', 'validate', 'model-card', '-');
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toMatch(/^akb: model-card: payload is not JSON/);
    const file = akb(undefined, 'message', 'validate', 'model-card', card);
    expect(file.status).toBe(0);
    expect(file.stdout.trim()).toBe(`${card}: valid model-card`);
  });
});
