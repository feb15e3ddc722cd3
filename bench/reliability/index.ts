/**
 * Reliability in one report (issue 14, "Measure"), each part measured in this run:
 *
 * - `fuzz`: one pass of every fuzz suite at AKB_FUZZ_SCALE (the CI count; test/fuzz/long-run.ts --once):
 *   cases, failures, hangs, peak RSS of the test workers;
 * - `deviceFaults`: the device-side faults of test/install/fault-fs.ts injected once each (disk full,
 *   read-only file system, permission errors as a non-root user): the error given and whether the running
 *   slot stayed intact (needs root for mount and runuser; skipped with the reason otherwise);
 * - `soak`: a short soak (bench/soak: AKB_RELIABILITY_DEVICES, default 50, for AKB_RELIABILITY_S, default
 *   180 s, the broker killed by SIGKILL and restarted twice): QoS 1 messages lost, reconnect p50/p99,
 *   memory and descriptors of every process over time;
 * - `tls`: frames/s over TLS against plain TCP through the same Mosquitto, rounds alternated (the ratio is
 *   the figure; the baseline is TCP in the same run).
 *
 *   npx tsx bench/reliability/index.ts [--skip fuzz,faults,soak,tls]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runSoak } from '../soak/index.js';
import { measureTlsCost } from './tls-cost.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** One fuzz pass in a child process (its own vitest runs); the summary it writes. */
async function fuzzOnce(): Promise<object> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-bench-fuzz-'));
  const out = join(dir, 'fuzz.json');
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/fuzz/long-run.ts'), '--once', '--out', out], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('exit', resolve);
    });
    const s = JSON.parse(await readFile(out, 'utf8')) as { seconds: number; totalCases: number; suites: Record<string, unknown>; failures: unknown[]; hangs: unknown[]; peakRssKiB: number };
    return { exitCode: code, seconds: s.seconds, cases: s.totalCases, suites: Object.keys(s.suites).length, failures: s.failures, hangs: s.hangs, peakRssMiB: Math.round(s.peakRssKiB / 1024) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function deviceFaults(): Promise<object> {
  const { runDeviceFaults } = await import('../../test/install/fault-fs.js');
  const rows = await runDeviceFaults();
  return { injected: rows.length, slotIntact: rows.filter((r) => r.slotIntact).length, rows };
}

export async function runReliability(skip: ReadonlySet<string> = new Set()): Promise<object> {
  const started = Date.now();
  const part = async (name: string, f: () => Promise<object>): Promise<object> => {
    if (skip.has(name)) return { skipped: 'by --skip' };
    const t0 = Date.now();
    process.stderr.write(`bench reliability: ${name}…\n`);
    try {
      return { ...(await f()), partSeconds: Math.round((Date.now() - t0) / 1000) };
    } catch (e) {
      return { error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
  };
  const loadBefore = loadavg()[0]!;
  const fuzz = await part('fuzz', fuzzOnce);
  const faults = await part('faults', deviceFaults);
  const soak = await part('soak', () =>
    runSoak({ devices: Number(process.env.AKB_RELIABILITY_DEVICES ?? 50), seconds: Number(process.env.AKB_RELIABILITY_S ?? 180), restarts: 2, signal: 'SIGKILL' }),
  );
  const tls = await part('tls', () => measureTlsCost());
  return {
    bench: 'reliability',
    machine: { cores: availableParallelism(), loadAverage: { before: loadBefore, after: loadavg()[0]! } },
    seconds: Math.round((Date.now() - started) / 1000),
    fuzz,
    deviceFaults: faults,
    soak,
    tls,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--skip');
  const skip = new Set(at >= 0 ? (process.argv[at + 1] ?? '').split(',') : []);
  process.stdout.write(`${JSON.stringify(await runReliability(skip), null, 2)}\n`);
}
