/**
 * `akb hil compare a b [--json] [--html out.html]`: two HIL runs side by side. a and b are report folders
 * (holding results.json) or results.json files. Prints the (variant, channel, SNR) rows present in both
 * with PSNR and SSIM of each and the difference b - a, then the rows found in one run only; --html writes
 * a self-contained page with both runs' curves on one plot per channel and metric. A missing, truncated,
 * oversized or foreign file is refused in one line naming it (and the field), exit 2.
 */
import { defineCommand } from './define.js';
import { emit, type Io } from '../run-command.js';

export interface HilCompareArgs {
  a: string;
  b: string;
  json: boolean;
  html?: string | undefined;
}

export async function hilCompare(args: HilCompareArgs, io: Io): Promise<void> {
  const { readResults } = await import('../hil/results-io.js');
  const { compareResults, comparisonLines, renderComparison } = await import('../hil/compare.js');
  const a = await readResults(args.a);
  const b = await readResults(args.b);
  const c = compareResults(a, b, { a: args.a, b: args.b });
  if (args.html !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    const { AkbError } = await import('@akb/protocol');
    await writeFile(args.html, renderComparison(c, a, b)).catch((e: Error) => {
      throw new AkbError('WRITE_FAILED', `${args.html}: cannot write the comparison page (${e.message})`, { exitCode: 2 });
    });
  }
  emit(io, args.json, { ...c, html: args.html ?? null }, () => [...comparisonLines(c), ...(args.html === undefined ? [] : [`wrote ${args.html}`])]);
}

export const hilCompareCommand = defineCommand({
  command: 'compare <a> <b>',
  describe: 'Two runs side by side: PSNR and SSIM per (variant, channel, SNR) and the difference; --html for both curves on one plot',
  builder: (y) =>
    y
      .positional('a', { type: 'string', demandOption: true, describe: 'report folder or results.json of the first run' })
      .positional('b', { type: 'string', demandOption: true, describe: 'report folder or results.json of the second run' })
      .option('json', { type: 'boolean', default: false, describe: 'print the comparison as JSON' })
      .option('html', { type: 'string', describe: 'also write a self-contained HTML page with both runs on one plot' })
      .epilog('Exit codes: 0 compared; 2 a file missing, truncated, over the size limit or not a results file (one line naming it and the field).'),
  run: (args, io) => hilCompare(args, io),
});
