/**
 * A hand-made results file for the report and compare tests: valid by the schema (checked by the tests),
 * two variants over two channels and four SNRs, a digital baseline, a timeline, thresholds (one failing)
 * and names that carry markup, so escaping is exercised everywhere a name is drawn.
 */
import type { HilResults, HilSummaryRow } from '../../toolkit/src/hil/results.js';

export const HOSTILE = '<img src=x onerror="window.pwned=1">';
export const SNRS = [0, 5, 10, 15];

/** PSNR of the fixture's rows: a straight line per variant, so tests know every number. */
export const fixturePsnr = (variant: string, channel: string, snr: number): number => (variant === 'akb' ? 20 : 18) + 0.5 * snr - (channel === 'rayleigh' ? 2 : 0);
export const fixtureSsim = (variant: string, channel: string, snr: number): number => Math.min(0.99, 0.5 + 0.02 * snr + (variant === 'akb' ? 0.05 : 0) - (channel === 'rayleigh' ? 0.05 : 0));

export function fixtureResults(over: { psnrShift?: number; snrs?: number[]; variants?: string[] } = {}): HilResults {
  const snrs = over.snrs ?? SNRS;
  const variantIds = over.variants ?? ['akb', 'deep'];
  const channels = ['awgn', 'rayleigh'];
  const summary: HilSummaryRow[] = [];
  for (const v of variantIds) {
    for (const c of channels) {
      for (const s of snrs) {
        summary.push({
          variant: v,
          channel: c,
          snrDb: s,
          n: 10,
          psnrMean: fixturePsnr(v, c, s) + (over.psnrShift ?? 0),
          psnrStd: 1.5,
          ssimMean: fixtureSsim(v, c, s),
          channelUsesMean: 256,
          completeRate: 1,
          latencyP50Ms: { encode: 3, policy: 0.5, send: 1, channel: 2, decode: 6, total: 12.5 },
          latencyP95Ms: { encode: 4, policy: 1, send: 2, channel: 3, decode: 8, total: 18 },
        });
      }
    }
  }
  const timeline = [];
  for (let i = 0; i < 40; i++) {
    const s = snrs[Math.floor(i / 10) % snrs.length]!;
    timeline.push({ t: i * 0.5, variant: variantIds[i % variantIds.length]!, channel: 'awgn', snrDb: s, actionId: i % 3, channelUses: 128 + 64 * (i % 3), powerDb: (i % 2) * 3 - 1, psnr: 20 + s / 2 });
  }
  return {
    format: 'akb-hil-results',
    version: 1,
    plan: { name: `paper ${HOSTILE}`, description: 'AKB-JSCC against Deep JSCC <b>bold?</b>', file: 'hil/plans/paper.yaml', sha256: 'ab'.repeat(32) },
    startedAt: '2026-12-02T21:00:00.000Z',
    finishedAt: '2026-12-02T21:05:00.000Z',
    machine: { host: `lab-1 ${HOSTILE}`, cpus: 2, node: 'v20.19.0' },
    variants: variantIds.map((id) => ({
      id,
      label: id === 'akb' ? `AKB-JSCC ${HOSTILE}` : id === 'deep' ? 'Deep JSCC @10 dB' : id,
      set: id,
      precision: 'float' as const,
      kb: id === 'akb' ? ('on' as const) : ('none' as const),
      policy: 'fixed:3',
      target: 'local',
    })),
    channels: channels.map((id) => ({ id, label: id === 'awgn' ? 'AWGN' : 'block Rayleigh', kind: id as 'awgn' | 'rayleigh' })),
    snrsDb: snrs,
    points: [
      { variant: variantIds[0]!, channel: 'awgn', snrDb: snrs[0]!, rep: 0, image: `${HOSTILE}.png`, psnr: 20, ssim: 0.5, channelUses: 256, tiles: 1, tilesDecoded: 1, complete: true, actions: { '3': 1 }, latencyMs: { total: 12 } },
    ],
    summary,
    digital: channels.flatMap((c) => snrs.map((s) => ({ channel: c, snrDb: s, channelUses: 256, n: 10, psnrMean: 12.5 + 0.8 * s, ssimMean: 0.3 + 0.03 * s, failed: s < 5 ? 10 : 0 }))),
    timeline,
    stagesMs: { encode: 1200, channel: 800, decode: 2400, 'digital baseline': 300 },
    thresholds: [
      { description: `akb psnr >= 22 at awgn 5 dB ${HOSTILE}`, metric: 'psnr', op: '>=', value: 22, measured: 22.5, pass: true },
      { description: 'deep psnr >= 30 at awgn 5 dB', metric: 'psnr', op: '>=', value: 30, measured: 20.5, pass: false },
    ],
    findings: [`At SNR ≤ 1 dB AKB-JSCC is 9-18% above a Deep JSCC trained at one SNR ${HOSTILE}`, 'Against an SNR-adaptive Deep JSCC it is 3.5-5% below.'],
    passed: false,
  };
}

/** A flat RGB image of `value` with a gradient, so a PNG of it is not trivial. */
export function rampImage(width: number, height: number, value: number) {
  const data = new Float32Array(3 * width * height);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) data[c * width * height + i] = Math.min(1, value + ((i % width) / width) * 0.3);
  return { width, height, data };
}
