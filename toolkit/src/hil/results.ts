/**
 * What a hardware-in-the-loop run writes to `<report>/results.json`, and what `akb hil compare` reads
 * back. The runner (runner/) produces it, the report (report/) draws it. A results file from disk is
 * untrusted: `parseResults` validates it against these schemas and bounds it before anything uses it.
 *
 * Vocabulary:
 * - a *variant* is one thing under test: a model set at a precision, with or without its source KB, under
 *   one policy (e.g. `akb-k256 int8 kb:on fixed:3`);
 * - a *channel* is one channel model of the plan (e.g. `awgn`, `rayleigh`);
 * - a *point* is one image sent once through one variant and channel at one SNR (one repetition);
 * - a *summary* row aggregates the points of one (variant, channel, SNR);
 * - *digital* rows are the JPEG-at-capacity baseline at the same channel uses and SNRs.
 */
import { z } from 'zod';

/** Results format version; a reader refuses others. */
export const RESULTS_VERSION = 1;
/** Largest results.json `parseResults` reads. */
export const MAX_RESULTS_BYTES = 256 * 2 ** 20;

const Db = z.number().min(-100).max(200);
const Ms = z.number().min(0).max(3_600_000);
const Id = z.string().min(1).max(128);

export const Precision = z.enum(['float', 'fp16', 'int8']);
export type Precision = z.infer<typeof Precision>;

/**
 * What a variant stands for in the paper's comparison (hil/plans/paper.yaml), declared in the plan and
 * copied here so that findings (findings.ts) find the variants by role, not by name:
 * - `akb`: AKB-JSCC with its source KB;
 * - `akb-no-kb`: the same AKB set with its source KB withheld (kb: off);
 * - `deepjscc-fixed-snr`: a Deep JSCC trained at one SNR, used at every SNR (the paper's baseline);
 * - `deepjscc-adaptive`: the SNR-adaptive Deep JSCC;
 * - `deepjscc-matched`: a Deep JSCC trained at one SNR, compared only near that SNR (`trainedSnrDb`);
 * - `digital`: a digital scheme run as a variant (the JPEG-at-capacity rows are in `digital`).
 */
export const VariantRole = z.enum(['akb', 'akb-no-kb', 'deepjscc-fixed-snr', 'deepjscc-adaptive', 'deepjscc-matched', 'digital']);
export type VariantRole = z.infer<typeof VariantRole>;

export const HilVariant = z.strictObject({
  id: Id.describe('Unique in the run; used in points, summary and file names (letters, digits, ".", "_", "-").'),
  label: z.string().max(256).describe('For people, e.g. "AKB-JSCC (K=256), int8".'),
  set: Id.describe('Model set name (models/sets/<set>.json).'),
  precision: Precision,
  kb: z.enum(['on', 'off', 'none']).describe('Source KB used (on), withheld from an AKB set (off), or the set has none.'),
  policy: z.string().max(64).describe('Edge policy: dqn, channel-kb or fixed:<action id>.'),
  target: z.string().max(128).describe('Where it ran: "local" or the device id.'),
  role: VariantRole.optional().describe('Its role in a comparison (the plan\'s `role`), for findings.'),
  trainedSnrDb: Db.optional().describe('The single SNR a Deep JSCC set was trained at (roles deepjscc-fixed-snr, deepjscc-matched).'),
});
export type HilVariant = z.infer<typeof HilVariant>;

export const HilChannel = z.strictObject({
  id: Id,
  label: z.string().max(256),
  kind: z.enum(['awgn', 'rayleigh', 'rician', 'gauss-markov', 'trace']).describe('The channel model (gauss-markov: time-varying fading; trace: the plan gave an SNR trace).'),
});
export type HilChannel = z.infer<typeof HilChannel>;

/** Per-stage latency of one image, ms; stages not measured are left out. */
export const StageTimes = z.strictObject({
  encode: Ms.optional(),
  policy: Ms.optional(),
  send: Ms.optional(),
  channel: Ms.optional(),
  decode: Ms.optional(),
  total: Ms.optional(),
});
export type StageTimes = z.infer<typeof StageTimes>;

export const HilPoint = z.strictObject({
  variant: Id,
  channel: Id,
  snrDb: Db,
  rep: z.number().int().min(0).max(1_000_000),
  image: z.string().max(512),
  psnr: z.number().min(0).max(200).nullable().describe('null when nothing arrived to decode.'),
  ssim: z.number().min(-1).max(1).nullable(),
  channelUses: z.number().int().min(0).describe('Channel uses spent on the image (all tiles, index uses included).'),
  tiles: z.number().int().min(0),
  tilesDecoded: z.number().int().min(0),
  complete: z.boolean(),
  /** How often each action id was chosen for the image's tiles. */
  actions: z.record(z.string().max(16), z.number().int().min(0)),
  latencyMs: StageTimes,
});
export type HilPoint = z.infer<typeof HilPoint>;

export const HilSummaryRow = z.strictObject({
  variant: Id,
  channel: Id,
  snrDb: Db,
  n: z.number().int().min(0),
  psnrMean: z.number().nullable(),
  psnrStd: z.number().nullable(),
  ssimMean: z.number().nullable(),
  channelUsesMean: z.number(),
  completeRate: z.number().min(0).max(1),
  latencyP50Ms: StageTimes,
  latencyP95Ms: StageTimes,
});
export type HilSummaryRow = z.infer<typeof HilSummaryRow>;

export const DigitalRow = z.strictObject({
  channel: Id,
  snrDb: Db,
  channelUses: z.number().int().min(0).describe('Per image, the same as the variants compared.'),
  n: z.number().int().min(0),
  psnrMean: z.number().nullable(),
  ssimMean: z.number().nullable(),
  /** Images for which not even the smallest JPEG fitted the capacity (counted as the mean colour). */
  failed: z.number().int().min(0),
});
export type DigitalRow = z.infer<typeof DigitalRow>;

export const ThresholdResult = z.strictObject({
  description: z.string().max(512).describe('As the plan states it, e.g. "akb-int8 psnr >= 22 at awgn 5 dB".'),
  metric: z.enum(['psnr', 'ssim', 'completeRate', 'latencyTotalP95Ms', 'psnrLossDb']),
  op: z.enum(['>=', '<=']),
  value: z.number(),
  measured: z.number().nullable(),
  pass: z.boolean(),
});
export type ThresholdResult = z.infer<typeof ThresholdResult>;

/** What the policy chose over time, one entry per image (or tile where recorded), for the rate/power chart. */
export const TimelinePoint = z.strictObject({
  t: z.number().min(0).describe('Seconds since the run started.'),
  variant: Id,
  channel: Id,
  snrDb: Db.describe('Channel SNR the emulator applied.'),
  actionId: z.number().int().min(0).max(255),
  channelUses: z.number().int().min(0),
  powerDb: z.number().min(-60).max(60),
  psnr: z.number().min(0).max(200).nullable(),
});
export type TimelinePoint = z.infer<typeof TimelinePoint>;

/** The plan's link (plan.ts `link`), as the run used it for its local targets. */
export const HilLink = z.strictObject({
  driver: z.enum(['emulated', 'sdr-udp', 'serial']),
  channel: z.enum(['gnuradio', 'node']).optional().describe('sdr-udp: the IQ channel.'),
  sampleRateHz: z.number().min(0).max(1e9).optional().describe('sdr-udp: samples per second the edge paced at.'),
  freqOffset: z.number().min(-0.5).max(0.5).optional().describe('sdr-udp: cycles per sample.'),
  taps: z.array(z.tuple([z.number(), z.number()])).max(64).optional().describe('sdr-udp gnuradio: multipath taps [re, im].'),
  modem: z.string().max(128).optional().describe('serial: the modem, e.g. "rn2483 SF7 125 kHz CR 4/5" or "e32 2400 bit/s, 58-byte packets".'),
  airtimeScale: z.number().min(0).max(1e6).optional().describe('serial: the time on air was divided by this.'),
  dutyCycle: z.number().min(0).max(1).optional(),
});
export type HilLink = z.infer<typeof HilLink>;

const Count = z.number().int().min(0);
/** What a sdr-udp or serial link saw while the points of one (variant, channel, SNR) were measured. */
export const HilLinkRow = z.strictObject({
  variant: Id,
  channel: Id,
  snrDb: Db.nullable().describe('null: a trace, the whole run.'),
  images: Count,
  msPerImage: Ms.describe('Wall time of those images over their count.'),
  sdr: z
    .strictObject({
      bursts: Count.describe('Bursts the gateway found (frames rebuilt).'),
      snrEstimateMeanDb: Db.nullable().describe('Mean of the gateway\'s per-burst SNR estimates; null when none was found.'),
      datagrams: Count,
      missing: Count.describe('Datagrams lost between the edge and the gateway (filled with zeros).'),
      headerFailures: Count,
    })
    .optional(),
  serial: z
    .strictObject({
      packetsSent: Count,
      packetsLost: Count,
      packetsRetried: Count,
      airtimeMs: z.number().min(0).describe('Time on air, unscaled.'),
    })
    .optional(),
});
export type HilLinkRow = z.infer<typeof HilLinkRow>;

export const HilResults = z.strictObject({
  format: z.literal('akb-hil-results'),
  version: z.literal(RESULTS_VERSION),
  plan: z.strictObject({
    name: z.string().max(256),
    description: z.string().max(4096).optional(),
    file: z.string().max(4096).describe('The plan file as given.'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256 of the plan file bytes.'),
  }),
  startedAt: z.string().max(64).describe('ISO 8601.'),
  finishedAt: z.string().max(64),
  machine: z.record(z.string().max(64), z.union([z.string().max(512), z.number()])),
  variants: z.array(HilVariant).max(256),
  channels: z.array(HilChannel).max(64),
  snrsDb: z.array(Db).max(1024),
  points: z.array(HilPoint).max(2_000_000),
  summary: z.array(HilSummaryRow).max(1_000_000),
  digital: z.array(DigitalRow).max(100_000),
  timeline: z.array(TimelinePoint).max(2_000_000),
  /** Wall time of each stage summed over the run, ms (where the time went). */
  stagesMs: z.record(z.string().max(64), Ms.or(z.number().min(0))),
  thresholds: z.array(ThresholdResult).max(10_000),
  /** Sentences the runner states about the comparison (e.g. which comparison gives which gain). */
  findings: z.array(z.string().max(2048)).max(256),
  passed: z.boolean().describe('Every threshold held (true when the plan has none).'),
  /** Absent in results written before plans named their link (then: emulated). */
  link: HilLink.optional(),
  links: z.array(HilLinkRow).max(1_000_000).optional(),
});
export type HilResults = z.infer<typeof HilResults>;
