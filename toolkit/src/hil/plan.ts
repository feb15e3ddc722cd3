/**
 * The plan of a hardware-in-the-loop sweep (`akb hil run plan.yaml`): what runs where, through which
 * channels, at which SNRs, on which images, and what must hold. The schema is the single source of truth:
 * the types come from it, hil/plan.schema.json is generated from it (a test fails when that file is
 * stale), and plan-load.ts turns its errors into `plan.yaml:14: variants[1].precision: …`.
 *
 * Every object is strict: an unknown field is refused (a typo must not silently fall back to a default).
 */
import { z } from 'zod';
import { CHANNEL_SNR_RANGE, DeviceId } from '@akb/protocol';
import { Precision, VariantRole } from './results.js';

/** The SNRs a plan may name, dB: what channel.set accepts. */
export const PLAN_SNR_RANGE = CHANNEL_SNR_RANGE;
/** Most points of an SNR grid. */
export const MAX_GRID = 1024;
/** Most images a plan may name (after `limit`). */
export const MAX_IMAGES = 100_000;

const Snr = z
  .number()
  .min(PLAN_SNR_RANGE.min, `an SNR must be at least ${PLAN_SNR_RANGE.min} dB`)
  .max(PLAN_SNR_RANGE.max, `an SNR must be at most ${PLAN_SNR_RANGE.max} dB`);
const PlanId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an id: 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

export const SnrRange = z
  .strictObject({
    from: Snr.describe('First SNR, dB.'),
    to: Snr.describe('Last SNR, dB (included when the steps land on it).'),
    step: z.number().positive('step must be above 0 dB').describe('dB between grid points.'),
  })
  .describe('A grid from `from` to `to` (inclusive) in steps of `step` dB.');

export const SnrGrid = z
  .union([z.array(Snr).min(1, 'the SNR grid is empty').max(MAX_GRID), SnrRange])
  .describe(`The SNRs of the sweep, dB (${PLAN_SNR_RANGE.min} to ${PLAN_SNR_RANGE.max}): a list, or {from, to, step}.`);

export const SnrTracePlan = z
  .strictObject({
    points: z
      .array(z.strictObject({ timeMs: z.number().min(0).max(86_400_000).describe('ms since the start, ascending.'), snrDb: Snr.describe('SNR at that time, dB.') }))
      .min(1, 'a trace needs at least one point')
      .max(10_000)
      .describe('Times ascending; linear in dB between points.'),
    loop: z.boolean().default(false).describe('Start the trace over after its last point; else hold its last SNR until the images are done.'),
  })
  .describe('Piecewise-linear SNR over time (ms since the rig started): the images are sent `repetitions` times one after another while the SNR follows it (set in 0.5 dB steps).');

export const LossPlan = z.strictObject({
  p: z.number().min(0).max(1).describe('Good → bad transition probability per fragment.'),
  r: z.number().min(0).max(1).describe('Bad → good transition probability per fragment.'),
  lossBad: z.number().min(0).max(1).describe('Loss probability in the bad state.'),
  lossGood: z.number().min(0).max(1).describe('Loss probability in the good state.'),
});

export const ChannelPlan = z
  .strictObject({
    id: PlanId.optional().describe('Default: the kind.'),
    label: z.string().max(256).optional().describe('For people (default: e.g. "Rayleigh").'),
    kind: z.enum(['awgn', 'rayleigh', 'rician', 'gauss-markov']).describe('AWGN; block Rayleigh or Rician fading per frame (equalized with perfect CSI); time-varying Gauss-Markov fading.'),
    kFactor: z.number().min(0).max(1000).optional().describe('Rician K (linear); required for rician.'),
    dopplerHz: z.number().positive().max(100_000).optional().describe('Maximum Doppler, Hz; required for gauss-markov.'),
    symbolRateHz: z.number().positive().max(1e10).default(1e6).describe('Symbols per second (gauss-markov step, SigMF rate).'),
    loss: LossPlan.optional().describe('Gilbert-Elliott loss of whole fragments.'),
  })
  .superRefine((c, ctx) => {
    if (c.kind === 'rician' && c.kFactor === undefined) ctx.addIssue({ code: 'custom', path: ['kFactor'], message: 'rician needs kFactor' });
    if (c.kind === 'gauss-markov' && c.dopplerHz === undefined) ctx.addIssue({ code: 'custom', path: ['dopplerHz'], message: 'gauss-markov needs dopplerHz' });
  })
  .describe('A channel model. Local targets: the link emulator in process applies all of it (with link sdr-udp, awgn only: the IQ channel adds the noise). Device targets: only the SNR is set (channel.set on the running `akb link emulate`); fading and loss are the emulator\'s own.');

export const DeviceTarget = z.strictObject({
  device: DeviceId,
  pingTimeoutMs: z.number().int().min(100).max(120_000).default(5000).describe('How long the device has to answer a ping before the sweep.'),
  imageTimeoutMs: z.number().int().min(100).max(600_000).default(30_000).describe('How long an image may take end to end.'),
});

export const Target = z
  .union([z.literal('local'), DeviceTarget])
  .describe('"local": an edge pipeline in this process. {device}: a device running akb-edge with the ingest source, addressed over MQTT.');

export const ImagesPlan = z
  .strictObject({
    folder: z.string().min(1).max(4096).optional().describe('A folder of PNG/JPEG images (sorted by name), relative to the plan file.'),
    files: z.array(z.string().min(1).max(4096)).min(1).max(MAX_IMAGES).optional().describe('Image files, relative to the plan file.'),
    limit: z.number().int().min(1).max(MAX_IMAGES).optional().describe('Use at most this many images (the first ones).'),
    maxSide: z.number().int().min(8).max(8192).optional().describe('Skip images wider or taller than this (e.g. 32 keeps CIFAR tiles only).'),
  })
  .refine((i) => (i.folder === undefined) !== (i.files === undefined), { message: 'give folder or files (one of them)' });

export const VariantPlan = z.strictObject({
  id: PlanId.optional().describe('Default: set, precision, kb and policy joined, e.g. akb-k256-int8.'),
  label: z.string().max(256).optional().describe('For people (default: e.g. "AKB-JSCC (akb-k256), int8, fixed:7").'),
  set: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a model set name (models/sets/<name>.json)').describe('Model set: models/sets/<set>.json beside the zoo.'),
  precision: z.enum(Precision.options, { error: 'expected float, fp16 or int8' }).default('float').describe('The edge encoder: float as in the zoo, or int8/fp16 made as `akb quantize` makes them (cached under <report>/models/); the cloud decoder stays float.'),
  kb: z.enum(['on', 'off'], { error: 'expected on or off' }).default('on').describe('Source KB used, or withheld from an AKB set (sets without one ignore it).'),
  policy: z
    .string()
    .regex(/^(dqn|channel-kb|fixed:\d{1,3})$/, 'expected dqn, channel-kb or fixed:<action id>')
    .optional()
    .describe('Default: dqn for an AKB set, fixed:0 for a Deep JSCC set.'),
  role: VariantRole.optional().describe('Its role in a comparison (akb, akb-no-kb, deepjscc-fixed-snr, deepjscc-adaptive, deepjscc-matched, digital): copied to results.json, read by the findings (hil/plans/paper.yaml).'),
  trainedSnrDb: Snr.optional().describe('The one SNR a Deep JSCC set was trained at (roles deepjscc-fixed-snr, deepjscc-matched).'),
});

export const ThresholdPlan = z.strictObject({
  variant: PlanId.describe('The variant measured.'),
  channel: PlanId.optional().describe('Default: every channel.'),
  snrDb: Snr.optional().describe('Default: every SNR.'),
  metric: z
    .enum(['psnr', 'ssim', 'completeRate', 'latencyTotalP95Ms', 'psnrLossDb'])
    .describe('Over the matching points: mean PSNR (dB), mean SSIM, share of images complete, p95 of end-to-end latency (ms), or mean PSNR of the baseline minus this variant\'s (dB).'),
  op: z.enum(['>=', '<=']).describe('measured op value must hold; no matching point fails the threshold.'),
  value: z.number().describe('The bound.'),
  baseline: PlanId.optional().describe('psnrLossDb: the variant compared against (default: the float variant of the same set, kb and policy).'),
});

const EmulatedLink = z.strictObject({
  driver: z.literal('emulated').describe('The channel emulator in process applies the plan\'s channel to the edge\'s frames (the default).'),
});

const SdrUdpLinkPlan = z.strictObject({
  driver: z.literal('sdr-udp').describe('The edge sends IQ bursts (SdrUdpLink) through an IQ channel to SdrUdpGateway, which publishes the frames for the cloud.'),
  channel: z.enum(['gnuradio', 'node']).describe('gnuradio: link/gnuradio/sdr_channel.py under /usr/bin/python3 (channels.channel_model); node: an IQ relay in this process (AWGN and frequency offset, seeded).'),
  sampleRateHz: z.number().min(1e3).max(1e8).optional().describe('Samples per second the edge paces at (default 2e4 for gnuradio, whose UDP source drops above ~9e4 samples/s; 1e6 for node).'),
  freqOffset: z.number().min(-0.0035).max(0.0035).default(0).describe('Carrier frequency offset, cycles per sample (the gateway corrects up to ±0.0035).'),
  taps: z
    .array(z.tuple([z.number().min(-10).max(10), z.number().min(-10).max(10)]))
    .min(1)
    .max(64)
    .optional()
    .describe('Multipath taps as [re, im] pairs (gnuradio only; default one tap [1, 0]).'),
});

export const LORA_SF = [7, 8, 9, 10, 11, 12] as const;
const Rn2483Plan = z.strictObject({
  kind: z.literal('rn2483').describe('A LoRa modem (RN2483 AT commands).'),
  sf: z.union(LORA_SF.map((n) => z.literal(n)), { error: 'expected a spreading factor 7 to 12' }).describe('Spreading factor 7-12.'),
  bwKhz: z.union([z.literal(125), z.literal(250), z.literal(500)], { error: 'expected 125, 250 or 500 kHz' }).default(125).describe('Bandwidth, kHz.'),
  cr: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)], { error: 'expected 1 to 4 (4/5 to 4/8)' }).default(1).describe('Coding rate 4/(4+cr).'),
});
const E32Plan = z.strictObject({
  kind: z.literal('e32').describe('A transparent modem (E32).'),
  airBitsPerSecond: z.number().positive().max(1e6).describe('Air data rate, bits/s.'),
  packetBytes: z.number().int().min(16).max(255).optional().describe('Packet size, bytes (default 58).'),
});

const SerialLinkPlan = z.strictObject({
  driver: z.literal('serial').describe('The edge\'s SerialLink drives a simulated UART modem (ModemSim on a socat pty pair); what it puts on air is reassembled by a RadioGatewaySim and then crosses the plan\'s channel.'),
  modem: z.discriminatedUnion('kind', [Rn2483Plan, E32Plan]).describe('The modem simulated.'),
  airtimeScale: z.number().min(1).max(10_000).default(1).describe('Divides the time on air the simulator and the driver wait (1: real time); airtime in the results is unscaled.'),
  dutyCycle: z.number().gt(0).max(1).default(1).describe('Share of an hour the modem may transmit (1: no limit); a packet over the budget is dropped.'),
});

export const LinkPlan = z
  .discriminatedUnion('driver', [EmulatedLink, SdrUdpLinkPlan, SerialLinkPlan], { error: 'expected driver emulated, sdr-udp or serial' })
  .describe(
    'How a local target\'s edge reaches the cloud (a device target runs its own link: this field does not reach it). ' +
      'emulated: frames through the channel emulator. sdr-udp: IQ samples through GNU Radio or a Node relay, which is the channel (every plan channel must be awgn without loss; the SNR grid sets its noise). ' +
      'serial: the modem moves the int8 symbols bit-exact; the plan\'s channel is then applied as an analog channel would; a high SNR measures the modem alone.',
  );
export type LinkPlan = z.output<typeof LinkPlan>;

export const ReportPlan = z.strictObject({
  folder: z.string().min(1).max(4096).describe('Where results.json, points.csv, summary.csv, sigmf/ and report.html go (relative to the plan file).'),
  sigmf: z.boolean().default(false).describe('Record the received samples of each (variant, channel) as SigMF.'),
  images: z.number().int().min(0).max(64).default(4).describe('Reconstructions kept per variant for the report.'),
});

const PemPath = z.string().min(1).max(4096);
export const TlsPlan = z
  .strictObject({
    ca: PemPath.optional().describe("CA certificate (PEM) the broker's certificate must chain to (default: the system's CAs)."),
    cert: PemPath.optional().describe('Client certificate (PEM), with key.'),
    key: PemPath.optional().describe('Private key (PEM) of cert.'),
  })
  .describe('TLS files for an mqtts:// or wss:// broker, relative to the plan file; `akb hil run --ca/--cert/--key` win, each on its own.');

export const HilPlan = z
  .strictObject({
    $schema: z.string().max(4096).optional(),
    name: z.string().min(1).max(256).describe('The run\'s name (report heading).'),
    description: z.string().max(4096).optional().describe('For people.'),
    broker: z
      .union([z.literal('embedded'), z.string().regex(/^(mqtts?|wss?|tcp):\/\/\S+$/, 'expected "embedded" or a broker URL such as mqtt://host:1883')])
      .default('embedded')
      .describe('"embedded": aedes on a free loopback port, for local targets; a URL: that broker (device targets need one).'),
    tls: TlsPlan.optional(),
    models: z.string().min(1).max(4096).optional().describe('Model zoo folder (default: models/zoo of this checkout), relative to the plan file.'),
    targets: z.array(Target).min(1, 'name at least one target').max(64).default(['local']).describe('Where each variant runs; every variant runs on every target.'),
    channels: z.array(ChannelPlan).min(1, 'name at least one channel').max(64).describe('Channel models; ids unique.'),
    snrDb: SnrGrid.optional(),
    trace: SnrTracePlan.optional(),
    images: ImagesPlan.describe('The images sent (folder or files, one of them).'),
    variants: z.array(VariantPlan).min(1, 'name at least one variant').max(256).describe('What is under test; ids unique.'),
    repetitions: z.number().int().min(1).max(1000).default(1).describe('Each image sent this many times per SNR (fresh noise each time).'),
    warmup: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(1)
      .describe('With an SNR grid: images sent after each SNR change and not recorded, so that the edge\'s SNR estimate and policy (from the receiver\'s feedback) have caught up with the new channel before points are measured; 0 measures from the first image.'),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1).describe('Seed of the channels\' random draws and of the policy.'),
    thresholds: z.array(ThresholdPlan).max(10_000).default([]).describe('What must hold; exit code 1 when one fails.'),
    report: ReportPlan.describe('The report folder.'),
    digital: z.boolean().default(false).describe('Compute the JPEG-at-capacity baseline at the same channel uses and SNRs.'),
    link: LinkPlan.default({ driver: 'emulated' }),
  })
  .superRefine((p, ctx) => {
    if ((p.snrDb === undefined) === (p.trace === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['snrDb'], message: 'give snrDb (a grid) or trace (one of them)' });
    }
    if (p.tls !== undefined) {
      if (!/^(mqtts|wss):\/\//.test(p.broker)) ctx.addIssue({ code: 'custom', path: ['tls'], message: `tls needs an mqtts:// or wss:// broker, not ${p.broker === 'embedded' ? 'the embedded one' : p.broker}` });
      if ((p.tls.cert === undefined) !== (p.tls.key === undefined)) ctx.addIssue({ code: 'custom', path: ['tls', p.tls.cert === undefined ? 'cert' : 'key'], message: 'a client certificate needs its key: give cert and key together' });
    }
    if (p.link.driver === 'sdr-udp') {
      // The IQ path is the channel: nothing else may be applied on top of it.
      p.channels.forEach((c, i) => {
        if (c.kind !== 'awgn') ctx.addIssue({ code: 'custom', path: ['channels', i, 'kind'], message: `link sdr-udp is the channel itself: every channel must be awgn, not ${c.kind}` });
        else if (c.loss !== undefined) ctx.addIssue({ code: 'custom', path: ['channels', i, 'loss'], message: 'link sdr-udp is the channel itself: no loss model on top of it' });
      });
      if (p.report.sigmf) ctx.addIssue({ code: 'custom', path: ['report', 'sigmf'], message: 'link sdr-udp records no SigMF here (the emulator, which records, is not in the path): set sigmf false' });
      if (p.link.taps !== undefined && p.link.channel !== 'gnuradio') ctx.addIssue({ code: 'custom', path: ['link', 'taps'], message: 'taps need channel gnuradio (the Node relay has no multipath)' });
    }
  });
export type HilPlanInput = z.input<typeof HilPlan>;
export type HilPlan = z.output<typeof HilPlan>;
export type ChannelPlan = z.output<typeof ChannelPlan>;
export type VariantPlan = z.output<typeof VariantPlan>;
export type ThresholdPlan = z.output<typeof ThresholdPlan>;
export type DeviceTarget = z.output<typeof DeviceTarget>;

/** The JSON Schema of a plan, for editors (hil/plan.schema.json). */
export function planJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(HilPlan, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://akb.dev/schemas/hil-plan.json', title: 'akb hil plan', description: 'A hardware-in-the-loop sweep for `akb hil run` (hil/README.md).' };
}

/** The grid a plan's snrDb gives, ascending and without repeats. */
export function snrGrid(grid: z.output<typeof SnrGrid>): number[] {
  if (Array.isArray(grid)) return [...new Set(grid)].sort((a, b) => a - b);
  const out: number[] = [];
  const lo = Math.min(grid.from, grid.to);
  const hi = Math.max(grid.from, grid.to);
  for (let i = 0; out.length <= MAX_GRID; i++) {
    const v = Math.round((lo + i * grid.step) * 1e6) / 1e6;
    if (v > hi + 1e-9) break;
    out.push(v);
  }
  return out;
}
