/**
 * `akb hil compare` on two results files written here from the hand-made fixture: the rows in both with
 * the right differences, the rows in one only, JSON and HTML out; and bad input (a missing file, a
 * truncated file, another format, a schema violation, a file over the size bound) refused in one line
 * naming the file (and the field), exit 2.
 */
import { mkdir, mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hilCompare, type HilCompareArgs } from '../../toolkit/src/commands/hil-compare.js';
import { runCommand } from '../../toolkit/src/run-command.js';
import { readResults } from '../../toolkit/src/hil/results-io.js';
import { MAX_RESULTS_BYTES } from '../../toolkit/src/hil/results.js';
import { runNode } from '../support/run.js';
import { fixturePsnr, fixtureResults, fixtureSsim } from './report-fixture.js';

const REPO = new URL('../../', import.meta.url).pathname;

let dir: string;
let fileA: string;
let folderB: string;

async function compare(args: Partial<HilCompareArgs> & { a: string; b: string }): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCommand(() => hilCompare({ json: false, ...args }, { out: (l) => out.push(l), err: (l) => err.push(l) }), { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-hil-compare-'));
  fileA = join(dir, 'a.json');
  await writeFile(fileA, JSON.stringify(fixtureResults()));
  // b: 0.5 dB better everywhere, measured at 5-20 dB instead of 0-15 dB; given as a report folder.
  folderB = join(dir, 'run-b');
  await mkdir(folderB);
  await writeFile(join(folderB, 'results.json'), JSON.stringify(fixtureResults({ psnrShift: 0.5, snrs: [5, 10, 15, 20] })));
});

describe('akb hil compare', () => {
  it('pairs the rows in both runs and gives b - a', async () => {
    const r = await compare({ a: fileA, b: folderB, json: true });
    expect(r.code).toBe(0);
    const c = JSON.parse(r.out.join('\n')) as { rows: { variant: string; channel: string; snrDb: number; a: { psnr: number; ssim: number }; b: { psnr: number; ssim: number }; dPsnr: number; dSsim: number }[]; only: { run: string; snrDb: number }[] };
    // 2 variants x 2 channels x the 3 SNRs both have (5, 10, 15).
    expect(c.rows).toHaveLength(12);
    for (const row of c.rows) {
      expect(row.a.psnr).toBeCloseTo(fixturePsnr(row.variant, row.channel, row.snrDb), 9);
      expect(row.b.psnr).toBeCloseTo(fixturePsnr(row.variant, row.channel, row.snrDb) + 0.5, 9);
      expect(row.dPsnr).toBeCloseTo(0.5, 9);
      expect(row.a.ssim).toBeCloseTo(fixtureSsim(row.variant, row.channel, row.snrDb), 9);
      expect(row.dSsim).toBe(0);
    }
    expect(c.rows[0]).toMatchObject({ variant: 'akb', channel: 'awgn', snrDb: 5, a: { psnr: 22.5 }, b: { psnr: 23 } });
    expect(c.only.filter((o) => o.run === 'a').map((o) => o.snrDb)).toEqual([0, 0, 0, 0]);
    expect(c.only.filter((o) => o.run === 'b').map((o) => o.snrDb)).toEqual([20, 20, 20, 20]);
  });

  it('prints a table, the mean difference, the rows in one run only, and writes the HTML plot', async () => {
    const html = join(dir, 'cmp.html');
    const r = await compare({ a: fileA, b: folderB, html });
    expect(r.code).toBe(0);
    expect(r.out.find((l) => l.startsWith('akb ') && l.includes('awgn') && /\b5\.0\b/.test(l))).toMatch(/22\.50\s+23\.00\s+\+0\.50/);
    expect(r.out).toContain('12 rows in both; PSNR b - a: mean +0.50 dB, from +0.50 to +0.50 dB');
    expect(r.out.find((l) => l.startsWith('only in a (4)'))).toContain('akb/awgn/0 dB');
    expect(r.out.find((l) => l.startsWith('only in b (4)'))).toContain('deep/rayleigh/20 dB');
    const page = await readFile(html, 'utf8');
    expect(page.match(/data-metric="psnr"/g)).toHaveLength(2);
    const awgn = page.match(/data-channel="awgn" data-metric="psnr">([\s\S]*?)<\/figure><\/div>/)![1]!;
    const lines = [...awgn.matchAll(/data-series="([^"]+)"><path d="M[^"]+"([^>]*)>/g)].map((m) => `${m[1]}${m[2]!.includes('stroke-dasharray') ? ' dashed' : ''}`);
    expect(lines).toEqual(['a:akb', 'b:akb dashed', 'a:deep', 'b:deep dashed']);
    expect(page).not.toContain('<img src=x');
    expect(page).not.toMatch(/\b(?:src|href)="(?!data:)/);
  });

  it('refuses a missing file in one line, exit 2', async () => {
    // Thrown at it: a path that does not exist.
    const r = await compare({ a: join(dir, 'nope.json'), b: folderB });
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toContain(`${join(dir, 'nope.json')}: no such file or folder`);
    // A folder without results.json.
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const e = await compare({ a: fileA, b: empty });
    expect([e.code, e.err]).toEqual([2, [expect.stringContaining(`${join(empty, 'results.json')}: no such file`)]]);
  });

  it('refuses a truncated file, another format and a schema violation naming the field', async () => {
    const text = JSON.stringify(fixtureResults());
    const cut = join(dir, 'cut.json');
    await writeFile(cut, text.slice(0, Math.floor(text.length / 2))); // thrown at it: half a file
    const t = await compare({ a: cut, b: folderB });
    expect([t.code, t.err.length]).toEqual([2, 1]);
    expect(t.err[0]).toMatch(new RegExp(`${cut.replace(/[/.]/g, '\\$&')}: not JSON .*truncated\\?`));

    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ format: 'akb-demo', points: [] })); // thrown at it: another tool's JSON
    const o = await compare({ a: fileA, b: other });
    expect([o.code, o.err]).toEqual([2, [expect.stringContaining(`${other}: not an akb HIL results file`)]]);

    const bad = fixtureResults() as unknown as { summary: { psnrMean: unknown }[] };
    bad.summary[3]!.psnrMean = 'high'; // thrown at it: a string where a number belongs
    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify(bad));
    const w = await compare({ a: wrong, b: folderB });
    expect([w.code, w.err.length]).toEqual([2, 1]);
    expect(w.err[0]).toContain(`${wrong}: summary[3].psnrMean:`);

    const v2 = join(dir, 'v2.json');
    await writeFile(v2, JSON.stringify({ ...fixtureResults(), version: 2 })); // thrown at it: a newer format
    const n = await compare({ a: v2, b: folderB });
    expect(n.err[0]).toContain('results format version 2; this akb reads version 1');
  });

  it('refuses a file over the size bound before reading it', async () => {
    // Thrown at it: a sparse file one byte over MAX_RESULTS_BYTES (nothing is allocated for it here).
    const huge = join(dir, 'huge.json');
    await writeFile(huge, '{');
    await truncate(huge, MAX_RESULTS_BYTES + 1);
    const r = await compare({ a: huge, b: folderB });
    expect([r.code, r.err]).toEqual([2, [expect.stringContaining(`${huge}: ${MAX_RESULTS_BYTES + 1} bytes, over the ${MAX_RESULTS_BYTES}-byte limit`)]]);
    // And a smaller bound holds for a real file too.
    await expect(readResults(fileA, 100)).rejects.toThrow(/over the 100-byte limit/);
  });

  it('runs as `akb hil compare` in a process: a table and exit 0; a bad file one line on stderr and exit 2', async () => {
    const ok = await runNode(['toolkit/bin/akb.js', 'hil', 'compare', fileA, folderB], { cwd: REPO });
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout).toContain('12 rows in both; PSNR b - a: mean +0.50 dB');
    // Thrown at it: a results file cut in half.
    const cut = join(dir, 'cut-cli.json');
    await writeFile(cut, JSON.stringify(fixtureResults()).slice(0, 1000));
    const bad = await runNode(['toolkit/bin/akb.js', 'hil', 'compare', fileA, cut], { cwd: REPO });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^akb: .*cut-cli\.json: not JSON .*truncated\?$/)]);
  });
});
