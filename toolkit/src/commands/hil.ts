/**
 * `akb hil`: hardware-in-the-loop sweeps. `akb hil run plan.yaml` runs a plan (hil/README.md) into a
 * report folder; `akb hil compare a b` (hil-compare.ts) shows two runs side by side; `akb hil schema`
 * prints the plan's JSON Schema. Exit codes of run: 0 every threshold held, 1 a threshold failed (the report is still written) or the run failed, 2 a bad plan or usage (one line
 * naming the file, line and field), or a device target that never answered its ping.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AkbError } from '@akb/protocol';
import type { MqttTlsOptions } from '@akb/protocol/mqtt';
import type { LoadedPlan } from '../hil/plan-load.js';
import { TLS_OPTIONS } from './tls-flags.js';
import { defineCommand, defineGroup } from './define.js';
import { hilCompareCommand } from './hil-compare.js';
import type { Io } from '../run-command.js';

const EPILOG =
  'Exit codes: 0 every threshold held; 1 a threshold failed (results and report are written) or the run failed; ' +
  '2 a bad plan or usage (the file, line and field are named), or a device target that never answered a ping. ' +
  "--ca/--cert/--key are for a plan whose broker is mqtts:// (or wss://); each wins over the plan's tls.ca/cert/key.";

/** The repository root, from toolkit/src or toolkit/dist alike: where models/ lives in a checkout. */
const repoRoot = new URL('../../../', import.meta.url);

interface RunArgs {
  plan: string;
  models?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  json: boolean;
  progress: boolean;
}

const run = defineCommand({
  command: 'run <plan>',
  describe: 'Run a sweep plan (YAML or JSON): variants × channels × SNRs × images through edge, emulator and cloud; write results, CSV and report.html',
  builder: (y) =>
    y
      .positional('plan', { type: 'string', demandOption: true, describe: 'plan file (hil/README.md, hil/plan.schema.json)' })
      .option('models', { type: 'string', describe: "model zoo folder when the plan names none (default: this checkout's models/zoo)" })
      .option('json', { type: 'boolean', default: false, describe: 'print the thresholds and summary as JSON' })
      .option('progress', { type: 'boolean', default: true, describe: 'progress on stderr (--no-progress: none)' })
      .options(TLS_OPTIONS)
      .epilog(EPILOG),
  run: (args, io) => runPlan(args, io),
});

async function runPlan(args: RunArgs, io: Io): Promise<void> {
  const { loadPlan } = await import('../hil/plan-load.js');
  const { runHil } = await import('../hil/runner/run.js');
  const { writeReport } = await import('../hil/write-report.js');
  const { stderrProgress, silentProgress } = await import('../hil/progress.js');
  const loaded = await loadPlan(args.plan, { defaultZoo: args.models ?? fileURLToPath(new URL('models/zoo', repoRoot)) });
  const progress = args.progress ? stderrProgress() : silentProgress;
  const { results, samples, folder } = await runHil(loaded, { progress, ...(await planTls(loaded, args)) });
  const files = await writeReport(folder, results, samples);
  if (args.json) {
    io.out(JSON.stringify({ folder, passed: results.passed, thresholds: results.thresholds, summary: results.summary, stagesMs: results.stagesMs }, null, 2));
  } else {
    for (const s of results.summary) {
      io.out(`${s.variant.padEnd(24)} ${s.channel.padEnd(10)} ${String(s.snrDb).padStart(6)} dB  PSNR ${s.psnrMean?.toFixed(2) ?? '-'} dB  SSIM ${s.ssimMean?.toFixed(3) ?? '-'}  uses ${s.channelUsesMean.toFixed(0)}  complete ${(100 * s.completeRate).toFixed(0)}%`);
    }
    for (const t of results.thresholds) io.out(`${t.pass ? 'pass' : 'FAIL'}  ${t.description} (measured ${t.measured === null ? 'nothing' : t.measured.toFixed(3)})`);
    io.out(`akb hil: ${results.points.length} points in ${((results.stagesMs.total ?? 0) / 1000).toFixed(1)} s; wrote ${files.join(', ')}`);
  }
  if (!results.passed) {
    const failed = results.thresholds.filter((t) => !t.pass);
    throw new AkbError('THRESHOLDS_FAILED', `${failed.length} of ${results.thresholds.length} thresholds failed: ${failed.map((t) => t.description).join('; ')}`.slice(0, 2000), {
      hint: `see ${folder}/report.html`,
      exitCode: 1,
    });
  }
}

/**
 * The run's TLS material: each of --ca/--cert/--key, else the plan's tls entry (relative to the plan file),
 * loaded and checked by protocol's loadTlsFlags (bounded PEM reads, cert and key together).
 */
async function planTls(loaded: LoadedPlan, args: RunArgs): Promise<{ tls?: MqttTlsOptions }> {
  const fromPlan = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(loaded.dir, p));
  const planned = loaded.plan.tls;
  const paths = { ca: args.ca ?? fromPlan(planned?.ca), cert: args.cert ?? fromPlan(planned?.cert), key: args.key ?? fromPlan(planned?.key) };
  const given = (['ca', 'cert', 'key'] as const).filter((k) => args[k]);
  if (given.length > 0 && loaded.plan.broker === 'embedded') {
    const { embeddedTlsError } = await import('../hil/runner/run.js');
    throw embeddedTlsError(given.map((k) => `--${k}`).join(', '));
  }
  const { loadTlsFlags } = await import('@akb/protocol/mqtt');
  const tls = await loadTlsFlags(loaded.plan.broker, paths);
  return tls === undefined ? {} : { tls };
}

const schema = defineCommand({
  command: 'schema',
  describe: 'Print the JSON Schema of a plan (hil/plan.schema.json), or with --markdown its field table (hil/README.md)',
  builder: (y) => y.option('markdown', { type: 'boolean', default: false, describe: 'the field reference as a Markdown table' }),
  run: async (args, io) => {
    if (args.markdown) {
      const { planFieldTable } = await import('../hil/plan-doc.js');
      io.out(planFieldTable());
      return;
    }
    const { planJsonSchema } = await import('../hil/plan.js');
    io.out(JSON.stringify(planJsonSchema(), null, 2));
  },
});

export const hilCommand = defineGroup('hil', 'Hardware-in-the-loop sweeps: run a plan into a report folder; compare two runs', [run, schema, hilCompareCommand]);
