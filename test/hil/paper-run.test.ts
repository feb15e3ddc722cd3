/**
 * The paper plan's variants through the real runner (embedded broker, edge, emulator, cloud), cut down to run
 * in seconds: hil/plans/paper-subset.yaml's variants and roles, AWGN only, -2 and 10 dB, 2 images, 1 repetition.
 * The results carry the roles; their findings state the comparisons, and the numbers in the sentences are the
 * ones recomputed here from the results' own summary rows (gain over the 10 dB Deep JSCC at -2 dB, the KB's
 * share). kb: off really withheld the KB: the akb-no-kb variant spent 256 uses per image, like akb.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';
import { runHil } from '../../toolkit/src/hil/runner/run.js';
import { describeDb, describeGain } from '../../toolkit/src/hil/findings.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the paper plan through the runner (cut down)', () => {
  it('results carry the roles, and the findings state the comparisons with the results\' numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-paper-'));
    const { $schema: _schema, ...plan } = parse(readFileSync(join(root, 'hil/plans/paper-subset.yaml'), 'utf8')) as Record<string, unknown>;
    const variants = (plan.variants as { id: string }[]).filter((v) => !v.id.includes('dqn') && !['deepjscc-snr4', 'deepjscc-snr7', 'deepjscc-snr13'].includes(v.id));
    const small = {
      ...plan,
      models: join(root, 'models/zoo'),
      channels: [{ kind: 'awgn' }],
      snrDb: [-2, 10],
      images: { folder: join(root, 'models/samples/cifar10-test'), limit: 2 },
      variants,
      repetitions: 1,
      report: { folder: join(dir, 'report'), images: 0 },
    };
    writeFileSync(join(dir, 'paper-small.yaml'), stringify(small));
    const loaded = await loadPlan(join(dir, 'paper-small.yaml'), { defaultZoo: join(root, 'models/zoo') });
    const { results } = await runHil(loaded);
    expect(results.variants.map((v) => [v.id, v.role])).toEqual([
      ['akb', 'akb'],
      ['akb-no-kb', 'akb-no-kb'],
      ['deepjscc-snr10', 'deepjscc-fixed-snr'],
      ['deepjscc-adaptive', 'deepjscc-adaptive'],
      ['deepjscc-snr1', 'deepjscc-matched'],
      ['deepjscc-snr19', 'deepjscc-matched'],
    ]);
    const row = (variant: string, snrDb: number) => results.summary.find((r) => r.variant === variant && r.channel === 'awgn' && r.snrDb === snrDb)!;
    for (const v of ['akb', 'akb-no-kb']) for (const s of [-2, 10]) expect(row(v, s).channelUsesMean, `${v} at ${s} dB`).toBe(256);
    const gain = row('akb', -2).psnrMean! / row('deepjscc-snr10', -2).psnrMean! - 1;
    const kb = row('akb', -2).psnrMean! - row('akb-no-kb', -2).psnrMean!;
    const low = results.findings.find((f) => f.startsWith('At SNR ≤ 1 dB (-2 dB) on AWGN, '));
    expect(low, results.findings.join('\n')).toBeDefined();
    expect(low).toContain(`${describeGain(gain, gain)} Deep JSCC trained at 10 dB (the paper's comparison)`);
    expect(low).toContain(`its source KB is worth ${describeDb(kb, kb)} against the same network with the KB withheld`);
    expect(results.findings.some((f) => f.startsWith('Above 1 dB (10 dB) on AWGN, '))).toBe(true);
    expect(results.findings.some((f) => f.includes('could not be compared'))).toBe(false);
  }, 300_000);
});
