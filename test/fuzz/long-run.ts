/**
 * Runs every fuzz suite (each `*.fuzz.test.ts` of the repository) and prints JSON: cases per suite, failures
 * with the seed to replay them, suites that hung, peak RSS of the test workers.
 *
 *   npm run fuzz                       one pass at AKB_FUZZ_SCALE (default 1): the CI count, totalled
 *   npm run fuzz:long                  repeats passes until AKB_FUZZ_SECONDS (default 3600) are spent
 *   nice -n 10 npm run fuzz:long -- --out fuzz-long.json
 *
 * The long run runs one file at a time through vitest (`--reporter=json`) with AKB_FUZZ_SEED = the pass
 * number, so every pass draws new cases, and adapts each file's AKB_FUZZ_SCALE so that one file takes about
 * AKB_FUZZ_FILE_SECONDS (default 120). A file that runs past four times its expected time plus a minute is
 * killed and reported as a hang (with its seed and scale). Cases count only for tests that passed, from the
 * ledger runs.ts writes. Replay a failure: `AKB_FUZZ_SEED=<seed> AKB_FUZZ_SCALE=<scale> npx vitest run <file>
 * -t '<test>'`; fast-check's own seed and path are in the message too.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzFiles, root } from './files.js';


interface LedgerLine {
  file: string;
  test?: string;
  runs?: number;
  maxRssKiB?: number;
}

interface AssertionResult {
  ancestorTitles: string[];
  title: string;
  status: string;
  failureMessages: string[];
}

interface SuiteTotals {
  cases: number;
  passes: number;
  seconds: number;
  lastScale: number;
  lastSeconds: number;
  failures: number;
}

interface Failure {
  file: string;
  test: string;
  seed: number;
  scale: number;
  message: string;
}


function numberEnv(name: string, fallback: number): number {
  const text = process.env[name];
  const value = text === undefined || text === '' ? fallback : Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${name} must be a positive number, not ${JSON.stringify(text)}`);
  return value;
}

interface FileRun {
  seconds: number;
  killed: boolean;
  results: AssertionResult[];
  ledger: LedgerLine[];
  stderrTail: string;
}

/** One vitest run of one file; killed after `limitS` seconds. */
async function runFile(file: string, seed: number, scale: number, limitS: number, work: string): Promise<FileRun> {
  const ledgerPath = join(work, 'ledger.jsonl');
  const reportPath = join(work, 'report.json');
  writeFileSync(ledgerPath, '');
  rmSync(reportPath, { force: true });
  const started = process.hrtime.bigint();
  // vitest's own per-test timeout (30 s in vitest.config.ts) would fail a scaled-up suite: the runner's limit rules.
  const timeoutMs = String(Math.ceil(limitS * 1000));
  const args = ['run', file, '--reporter=json', `--outputFile=${reportPath}`, `--testTimeout=${timeoutMs}`, `--hookTimeout=${timeoutMs}`];
  const child = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, AKB_FUZZ_SEED: String(seed), AKB_FUZZ_SCALE: String(scale), AKB_FUZZ_LEDGER: ledgerPath },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => void (stderr = (stderr + b.toString()).slice(-4000)));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); // the group: vitest and its forks
  }, limitS * 1000);
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  clearTimeout(timer);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let results: AssertionResult[] = [];
  try {
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as { testResults: { assertionResults: AssertionResult[] }[] };
    results = report.testResults.flatMap((t) => t.assertionResults);
  } catch {
    // killed, or vitest failed before writing a report: no test counts
  }
  const ledger = readFileSync(ledgerPath, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LedgerLine);
  return { seconds, killed, results, ledger, stderrTail: stderr };
}

/** fast-check's replay line of a failure message, else its first lines. */
function excerpt(message: string): string {
  const replay = /\{ seed: -?\d+, path: "[^"]*", endOnFailure: true \}/.exec(message)?.[0];
  const head = message.split('\n').slice(0, 6).join('\n').slice(0, 1500);
  return replay === undefined ? head : `${replay}\n${head}`;
}

async function main(): Promise<void> {
  const once = process.argv.includes('--once');
  const outAt = process.argv.indexOf('--out');
  const outFile = outAt >= 0 ? process.argv[outAt + 1] : undefined;
  const budgetS = once ? Infinity : numberEnv('AKB_FUZZ_SECONDS', 3600);
  const targetS = numberEnv('AKB_FUZZ_FILE_SECONDS', 120);
  const baseScale = numberEnv('AKB_FUZZ_SCALE', 1);
  let files = fuzzFiles();
  const work = mkdtempSync(join(tmpdir(), 'akb-fuzz-'));
  const totals = new Map<string, SuiteTotals>(files.map((f) => [f, { cases: 0, passes: 0, seconds: 0, lastScale: baseScale, lastSeconds: 0, failures: 0 }]));
  const perTest = new Map<string, number>();
  const failures: Failure[] = [];
  const hangs: { file: string; seed: number; scale: number; seconds: number }[] = [];
  let peakRssKiB = 0;
  const started = Date.now();
  const left = (): number => budgetS - (Date.now() - started) / 1000;
  let pass = 0;
  outer: for (;;) {
    pass++;
    // Suites added while a long run goes join it at its next pass.
    files = fuzzFiles();
    for (const f of files) if (!totals.has(f)) totals.set(f, { cases: 0, passes: 0, seconds: 0, lastScale: baseScale, lastSeconds: 0, failures: 0 });
    for (const file of files) {
      const t = totals.get(file)!;
      // Scale for about targetS seconds, from the last pass's seconds per unit of scale (the first pass at baseScale).
      const perScale = t.passes === 0 ? undefined : Math.max(t.lastSeconds / 2, t.lastSeconds - 2) / t.lastScale; // ~2 s start-up
      let scale = perScale === undefined || once ? baseScale : Math.min(1000, Math.max(0.05, (targetS - 2) / perScale));
      if (!once && perScale !== undefined && scale * perScale + 12 > left()) {
        if (left() < 30) break outer;
        scale = Math.max(0.05, (left() - 12) / perScale);
      }
      scale = Math.round(scale * 100) / 100;
      // A hang: four times the expected time plus a minute (the first pass: ten minutes).
      const limitS = perScale === undefined ? 600 : 4 * (scale * perScale + 2) + 60;
      const run = await runFile(file, pass, scale, once ? 3600 : Math.min(limitS, Math.max(60, left() + 60)), work);
      for (const l of run.ledger) if (l.maxRssKiB !== undefined) peakRssKiB = Math.max(peakRssKiB, l.maxRssKiB);
      const passed = new Set(run.results.filter((r) => r.status === 'passed').map((r) => [...r.ancestorTitles, r.title].join(' > ')));
      let cases = 0;
      for (const l of run.ledger) {
        if (l.runs === undefined || l.test === undefined || !passed.has(l.test)) continue;
        cases += l.runs;
        perTest.set(`${file} :: ${l.test}`, (perTest.get(`${file} :: ${l.test}`) ?? 0) + l.runs);
      }
      for (const r of run.results.filter((x) => x.status === 'failed')) {
        failures.push({ file, test: [...r.ancestorTitles, r.title].join(' > '), seed: pass, scale, message: excerpt(r.failureMessages.join('\n')) });
        t.failures++;
      }
      if (run.killed) hangs.push({ file, seed: pass, scale, seconds: Math.round(run.seconds) });
      else if (run.results.length === 0) failures.push({ file, test: '(no report)', seed: pass, scale, message: run.stderrTail.slice(-1500) });
      t.cases += cases;
      t.passes++;
      t.seconds += run.seconds;
      t.lastScale = scale;
      t.lastSeconds = run.seconds;
      process.stderr.write(`pass ${pass} ${file}: scale ${scale}, ${cases} cases, ${run.seconds.toFixed(1)} s${run.killed ? ' KILLED' : ''}, ${Math.round(left())} s left\n`);
      if (!once && left() < 30) break outer;
    }
    if (once) break;
  }
  rmSync(work, { recursive: true, force: true });
  const suites = Object.fromEntries([...totals].map(([f, t]) => [f, { cases: t.cases, passes: t.passes, seconds: Math.round(t.seconds), failures: t.failures }]));
  const summary = {
    mode: once ? 'once' : 'long',
    seconds: Math.round((Date.now() - started) / 1000),
    passes: pass,
    totalCases: [...totals.values()].reduce((a, t) => a + t.cases, 0),
    suites,
    tests: Object.fromEntries(perTest),
    failures,
    hangs,
    peakRssKiB,
  };
  const text = `${JSON.stringify(summary, null, 2)}\n`;
  if (outFile !== undefined) writeFileSync(outFile, text);
  process.stdout.write(text);
  process.exitCode = failures.length > 0 || hangs.length > 0 ? 1 : 0;
}

await main();
