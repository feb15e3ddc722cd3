/**
 * Plan parsing: the example plan loads; bad plans are refused with the file, the line and the field path
 * (exit code 2); hil/plan.schema.json is what plan.ts generates.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';
import { planJsonSchema, snrGrid } from '../../toolkit/src/hil/plan.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const zoo = join(root, 'models/zoo');
const cifar = join(root, 'models/samples/cifar10-test');
const dir = mkdtempSync(join(tmpdir(), 'akb-plan-'));

const GOOD = `name: t
channels:
  - kind: awgn
snrDb: [0, 5]
images:
  folder: ${cifar}
  limit: 2
variants:
  - id: akb
    set: akb-k256
    precision: float
report:
  folder: out
`;

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function refusal(text: string): Promise<{ message: string; exitCode: number }> {
  const file = write(`p${Math.random().toString(36).slice(2)}.yaml`, text);
  try {
    await loadPlan(file, { defaultZoo: zoo });
  } catch (e) {
    const err = e as { message: string; exitCode: number };
    return { message: err.message.replace(/^p[a-z0-9]+\.yaml/, 'plan.yaml'), exitCode: err.exitCode };
  }
  throw new Error('the plan was accepted');
}

describe('hil plan', () => {
  it('loads the example plan with its defaults filled in', async () => {
    const loaded = await loadPlan(join(root, 'hil/plans/example.yaml'), { defaultZoo: zoo });
    expect(loaded.snrsDb).toEqual([0, 5, 10]);
    expect(loaded.channels.map((c) => c.id)).toEqual(['awgn', 'rayleigh']);
    expect(loaded.variants.map((v) => [v.id, v.precision, v.policy])).toEqual([
      ['akb', 'float', 'fixed:7'],
      ['akb-int8', 'int8', 'fixed:7'],
      ['deepjscc', 'float', 'fixed:0'],
    ]);
    expect(loaded.plan.targets).toEqual(['local']);
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads the same plan as JSON', async () => {
    const file = write('plan.json', JSON.stringify({ name: 't', channels: [{ kind: 'awgn' }], snrDb: { from: -2, to: 4, step: 3 }, images: { folder: cifar }, variants: [{ set: 'deepjscc-r12-snr10' }], report: { folder: 'o' } }));
    const loaded = await loadPlan(file, { defaultZoo: zoo });
    expect(loaded.snrsDb).toEqual([-2, 1, 4]);
    expect(loaded.variants[0]).toMatchObject({ id: 'deepjscc-r12-snr10', policy: 'fixed:0', kb: 'on' });
  });

  it('refuses an unknown field, naming its line and path', async () => {
    // A typo: "precison" on line 11.
    const r = await refusal(GOOD.replace('    precision: float', '    precison: float'));
    expect(r).toEqual({ message: 'plan.yaml:11: variants[0].precison: unknown field', exitCode: 2 });
  });

  it('refuses a wrong precision', async () => {
    const r = await refusal(GOOD.replace('precision: float', 'precision: int4'));
    expect(r.message).toBe('plan.yaml:11: variants[0].precision: expected float, fp16 or int8');
  });

  it('refuses impossible SNRs and an empty grid', async () => {
    // 1000 dB, the second entry of the list on line 4.
    expect((await refusal(GOOD.replace('snrDb: [0, 5]', 'snrDb: [0, 1000]'))).message).toBe('plan.yaml:4: snrDb[1]: an SNR must be at most 60 dB');
    expect((await refusal(GOOD.replace('snrDb: [0, 5]', 'snrDb: []'))).message).toBe('plan.yaml:4: snrDb: the SNR grid is empty');
    expect((await refusal(GOOD.replace('snrDb: [0, 5]', 'snrDb: {from: 0, to: 10, step: 0}'))).message).toBe('plan.yaml:4: snrDb.step: step must be above 0 dB');
    // Neither grid nor trace.
    expect((await refusal(GOOD.replace('snrDb: [0, 5]\n', ''))).message).toMatch(/^plan\.yaml:1: snrDb: give snrDb \(a grid\) or trace/);
  });

  it('refuses a missing model set before anything runs', async () => {
    const r = await refusal(GOOD.replace('set: akb-k256', 'set: akb-k999'));
    expect(r.exitCode).toBe(2);
    expect(r.message).toMatch(/^plan\.yaml:10: variants\[0\]\.set: no model set "akb-k999" \(.*models\/sets\/akb-k999\.json\)$/);
  });

  it('refuses a threshold naming no variant, a missing image folder, bad YAML and a policy a Deep JSCC set lacks', async () => {
    const t = `${GOOD}thresholds:\n  - {variant: nope, metric: psnr, op: '>=', value: 1}\n`;
    expect((await refusal(t)).message).toBe('plan.yaml:15: thresholds[0].variant: no variant "nope" (variants: akb)');
    expect((await refusal(GOOD.replace(cifar, '/nonexistent/images'))).message).toBe('plan.yaml:6: images.folder: no folder /nonexistent/images');
    expect((await refusal(`${GOOD}  - : [\n`)).message).toMatch(/^plan\.yaml:1[45]: /);
    const dj = GOOD.replace('set: akb-k256', 'set: deepjscc-r12-snr10\n    policy: dqn');
    expect((await refusal(dj)).message).toBe('plan.yaml:11: variants[0].policy: deepjscc-r12-snr10 is a deepjscc set without a policy: use fixed:0');
  });

  it('expands a {from, to, step} grid', () => {
    expect(snrGrid({ from: 10, to: -2, step: 4 })).toEqual([-2, 2, 6, 10]);
    expect(snrGrid([5, 0, 5])).toEqual([0, 5]);
  });

  it('hil/plan.schema.json is current (regenerate: akb hil schema > hil/plan.schema.json)', () => {
    const committed = JSON.parse(readFileSync(join(root, 'hil/plan.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(planJsonSchema());
  });
});

describe('hil/README.md', () => {
  it('carries the current field table (regenerate: akb hil schema --markdown)', async () => {
    const { planFieldTable } = await import('../../toolkit/src/hil/plan-doc.js');
    const readme = readFileSync(join(root, 'hil/README.md'), 'utf8');
    const table = /<!-- plan-fields:start -->\n([\s\S]*?)\n<!-- plan-fields:end -->/.exec(readme)?.[1];
    expect(table).toBe(planFieldTable());
  });
});
