import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// As users run it: the built bin in a child process (npm test builds first), the frame piped in.
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const vector = fileURLToPath(new URL('../../../protocol/vectors/frames/01-float32.bin', import.meta.url));
const akb = (input: Buffer | undefined, ...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { timeout: 60_000, env: { ...process.env, AKB_DEBUG: '' }, ...(input !== undefined ? { input } : {}) });

describe('akb frame decode', () => {
  it('reads the frame from stdin for - (yargs used to take the lone - for an empty option and read the file "")', () => {
    const fromStdin = akb(readFileSync(vector), 'frame', 'decode', '-', '--json');
    expect(fromStdin.stderr.toString()).toBe('');
    expect(fromStdin.status).toBe(0);
    const fromFile = akb(undefined, 'frame', 'decode', vector, '--json');
    expect(JSON.parse(fromStdin.stdout.toString())).toEqual(JSON.parse(fromFile.stdout.toString()));
  });

  it('refuses a truncated frame on stdin in one line, exit 1', () => {
    const r = akb(readFileSync(vector).subarray(0, 20), 'frame', 'decode', '-');
    expect(r.status).toBe(1);
    expect(r.stderr.toString().trim().split('\n')).toHaveLength(1);
  });
});
