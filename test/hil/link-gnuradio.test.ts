/**
 * GNU Radio in the loop, the measure: the same small plan (10 CIFAR-10 images, AKB-JSCC K = 256 at
 * the fixed action 7, 3 repetitions) through `sdr-udp` with GNU Radio's channel_model as the channel and
 * through the emulated link, at equal SNR: mean PSNR within 0.5 dB at 5 and 10 dB. 0 dB is reported, not
 * gated (frame sync may lose a burst there). The SNR changes through channel.set, which reaches the running
 * flowgraph on its stdin (`noise <voltage>`): one flowgraph for the whole sweep. Prints the figures as one
 * JSON line. Needs gnuradio (apt-get install --no-install-recommends gnuradio); skipped without it, failing
 * under AKB_REQUIRE_ALL=1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadPlan } from '../../toolkit/src/hil/plan-load.js';
import { runHil } from '../../toolkit/src/hil/runner/run.js';
import type { HilResults } from '../../toolkit/src/hil/results.js';
import { describeWithProgram } from '../support/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const zoo = join(root, 'models/zoo');
const cifar = join(root, 'models/samples/cifar10-test');
const GATED = [5, 10];
const REPORTED = [0];

async function run(link: string): Promise<HilResults> {
  const dir = mkdtempSync(join(tmpdir(), 'akb-hil-gr-'));
  const file = join(dir, 'plan.yaml');
  writeFileSync(file, `name: gnuradio against the emulator
channels:
  - kind: awgn
snrDb: [${[...REPORTED, ...GATED].join(', ')}]
repetitions: 3
images:
  folder: ${cifar}
  limit: 10
variants:
  - id: akb
    set: akb-k256
    policy: fixed:7
report:
  folder: out
${link}`);
  return (await runHil(await loadPlan(file, { defaultZoo: zoo }))).results;
}

function mean(r: HilResults, snrDb: number): { psnr: number; decoded: number; n: number } {
  const ps = r.points.filter((p) => p.snrDb === snrDb);
  const got = ps.filter((p) => p.psnr !== null).map((p) => p.psnr!);
  return { psnr: got.reduce((a, b) => a + b, 0) / Math.max(1, got.length), decoded: got.length, n: ps.length };
}

describeWithProgram('gnuradio-config-info', 'gnuradio', 'akb hil run: sdr-udp through GNU Radio against the emulated link', () => {
  it('gives the emulated PSNR within 0.5 dB at 5 and 10 dB', async () => {
    const gnuradio = await run('link: {driver: sdr-udp, channel: gnuradio}\n');
    const emulated = await run('');
    const rows = [...REPORTED, ...GATED].map((snrDb) => {
      const g = mean(gnuradio, snrDb);
      const e = mean(emulated, snrDb);
      const link = gnuradio.links?.find((l) => l.snrDb === snrDb);
      return { snrDb, gnuradioPsnr: +g.psnr.toFixed(3), emulatedPsnr: +e.psnr.toFixed(3), deltaDb: +(g.psnr - e.psnr).toFixed(3), decoded: `${g.decoded}/${g.n}`, bursts: link?.sdr?.bursts, gatewaySnrDb: link?.sdr?.snrEstimateMeanDb, missing: link?.sdr?.missing };
    });
    console.log(JSON.stringify({ measure: 'PSNR through GNU Radio channel_model vs the emulator, AKB-JSCC K=256 fixed:7, 10 CIFAR-10 images x 3', rows }));
    expect(gnuradio.link).toEqual({ driver: 'sdr-udp', channel: 'gnuradio', sampleRateHz: 2e4, freqOffset: 0 });
    for (const snrDb of GATED) {
      const row = rows.find((r) => r.snrDb === snrDb)!;
      expect(row.decoded).toBe('30/30');
      expect(Math.abs(row.deltaDb)).toBeLessThan(0.5);
    }
  }, 170_000);
});
