/**
 * The paper's comparison stated in words, from a run's results only (hil/plans/paper.yaml). Variants are
 * found by their `role` (results.ts VariantRole), never by name:
 *
 * - against `deepjscc-fixed-snr` (a Deep JSCC trained at one SNR and used at every SNR: the paper's baseline);
 * - against `deepjscc-adaptive` (the SNR-adaptive Deep JSCC);
 * - against the best single-SNR Deep JSCC at each SNR (every variant with a `trainedSnrDb`: roles
 *   `deepjscc-matched` and `deepjscc-fixed-snr`; the better of them at that SNR, as models/README.md does);
 * - the source KB's share: `akb` minus `akb-no-kb` (the same set with its KB withheld), in dB;
 * - against the digital JPEG-at-capacity rows.
 *
 * Gains are PSNR ratios, AKB / other − 1, over the SNR points of a band where both have a mean PSNR; a band
 * gives the smallest and largest gain. A comparison whose variant is missing (or has no PSNR in the band)
 * becomes a sentence saying it could not be made. Channel uses are checked: a pair that did not spend the
 * same uses per image (within 1%) is said to be unequal, since the gain is then not at equal cost.
 */
import type { DigitalRow, HilChannel, HilResults, HilSummaryRow, HilVariant, VariantRole } from './results.js';

export interface FindingsOptions {
  /** The upper edge of the low-SNR band, dB (default 1: the paper's low-SNR regime, -2..1 dB). */
  lowSnrMaxDb?: number;
}

interface Band {
  name: string;
  snrs: number[];
}

type Curve = Map<number, { psnr: number; uses: number }>;

const fmt = (x: number, digits = 1): string => {
  const v = Math.abs(x) < 0.5 * 10 ** -digits ? 0 : x;
  return v.toFixed(digits);
};

/** "9.1–18.2% above", "3.5–5.0% below", "from 3.8% below to 0.6% above" for gains as fractions. */
export function describeGain(min: number, max: number): string {
  const lo = 100 * min;
  const hi = 100 * max;
  const range = (a: number, b: number): string => (fmt(a) === fmt(b) ? `${fmt(a)}%` : `${fmt(a)}–${fmt(b)}%`);
  if (lo >= 0) return `${range(lo, hi)} above`;
  if (hi <= 0) return `${range(-hi, -lo)} below`;
  return `from ${fmt(-lo)}% below to ${fmt(hi)}% above`;
}

/** "+0.05 dB", "−0.12 to +0.05 dB". */
export function describeDb(min: number, max: number): string {
  const s = (x: number): string => {
    const t = fmt(x, 2);
    return t.startsWith('-') ? t : `+${t}`;
  };
  return s(min) === s(max) ? `${s(min)} dB` : `${s(min)} to ${s(max)} dB`;
}

function snrList(snrs: number[]): string {
  return `${snrs.map((s) => fmt(s, Number.isInteger(s) ? 0 : 1)).join(', ')} dB`;
}

function curveOf(rows: readonly HilSummaryRow[], variant: string, channel: string): Curve {
  const c: Curve = new Map();
  for (const r of rows) if (r.variant === variant && r.channel === channel && r.psnrMean !== null) c.set(r.snrDb, { psnr: r.psnrMean, uses: r.channelUsesMean });
  return c;
}

function digitalCurve(rows: readonly DigitalRow[], channel: string): Curve {
  const c: Curve = new Map();
  for (const r of rows) if (r.channel === channel && r.psnrMean !== null) c.set(r.snrDb, { psnr: r.psnrMean, uses: r.channelUses });
  return c;
}

interface Compared {
  gains: number[];
  diffsDb: number[];
  /** SNRs where the two spent different channel uses per image (over 1% apart). */
  unequal: { snr: number; a: number; b: number }[];
}

function compare(a: Curve, b: Curve, snrs: number[]): Compared | undefined {
  const out: Compared = { gains: [], diffsDb: [], unequal: [] };
  for (const s of snrs) {
    const x = a.get(s);
    const y = b.get(s);
    if (!x || !y || !(y.psnr > 0)) continue;
    out.gains.push(x.psnr / y.psnr - 1);
    out.diffsDb.push(x.psnr - y.psnr);
    if (Math.abs(x.uses - y.uses) > 0.01 * Math.max(x.uses, y.uses)) out.unequal.push({ snr: s, a: x.uses, b: y.uses });
  }
  return out.gains.length > 0 ? out : undefined;
}

/** At each SNR, the best of several curves (the best single-SNR Deep JSCC of the run). */
function bestOf(curves: Curve[]): Curve {
  const best: Curve = new Map();
  for (const c of curves) for (const [s, p] of c) if (!best.has(s) || best.get(s)!.psnr < p.psnr) best.set(s, p);
  return best;
}

const span = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];

/** One note for a sentence: the first comparison whose two sides spent different channel uses. */
function unequalNote(cs: (Compared | undefined)[]): string {
  const c = cs.find((x) => x !== undefined && x.unequal.length > 0);
  if (!c) return '';
  const u = c.unequal[0]!;
  const more = c.unequal.length - 1;
  return ` (not at equal channel uses: ${Math.round(u.a)} against ${Math.round(u.b)} per image at ${snrList([u.snr])}${more > 0 ? ` and ${more} more SNR${more === 1 ? '' : 's'}` : ''}, so these are not gains at equal cost)`;
}

function withRole(variants: readonly HilVariant[], role: VariantRole): HilVariant[] {
  return variants.filter((v) => v.role === role);
}

/** The akb-no-kb variant to pair with an akb variant: the same set, precision and policy (else none: a KB share is only measured like for like). */
function twinOf(akb: HilVariant, noKb: HilVariant[]): HilVariant | undefined {
  return noKb.find((v) => v.set === akb.set && v.policy === akb.policy && v.precision === akb.precision);
}

function bandsOf(snrs: readonly number[], lowMax: number): Band[] {
  const sorted = [...new Set(snrs)].sort((a, b) => a - b);
  const low = sorted.filter((s) => s <= lowMax);
  const high = sorted.filter((s) => s > lowMax);
  const bands: Band[] = [];
  if (low.length > 0) bands.push({ name: `At SNR ≤ ${fmt(lowMax, Number.isInteger(lowMax) ? 0 : 1)} dB (${snrList(low)})`, snrs: low });
  if (high.length > 0) bands.push({ name: `Above ${fmt(lowMax, Number.isInteger(lowMax) ? 0 : 1)} dB (${snrList(high)})`, snrs: high });
  return bands;
}

/**
 * The results with each variant's role and training SNR taken from the plan where the results lack them
 * (matched by variant id), for results written before the runner copied them.
 */
export function withPlanRoles(results: HilResults, planVariants: readonly { id: string; role?: VariantRole | undefined; trainedSnrDb?: number | undefined }[]): HilResults {
  const byId = new Map(planVariants.map((v) => [v.id, v]));
  const variants = results.variants.map((v) => {
    const p = byId.get(v.id);
    const role = v.role ?? p?.role;
    const trainedSnrDb = v.trainedSnrDb ?? p?.trainedSnrDb;
    return { ...v, ...(role === undefined ? {} : { role }), ...(trainedSnrDb === undefined ? {} : { trainedSnrDb }) };
  });
  return { ...results, variants };
}

/** Sentences stating which comparison gives which gain, per channel and SNR band, from the results only. */
export function paperFindings(results: HilResults, options: FindingsOptions = {}): string[] {
  const lowMax = options.lowSnrMaxDb ?? 1;
  const { variants, summary } = results;
  const akbs = withRole(variants, 'akb');
  if (akbs.length === 0) return ['No variant has the role akb, so none of the paper\'s comparisons could be made (declare `role: akb` on the AKB-JSCC variant of the plan).'];
  const fixed = withRole(variants, 'deepjscc-fixed-snr');
  const adaptive = withRole(variants, 'deepjscc-adaptive');
  const single = variants.filter((v) => v.trainedSnrDb !== undefined && (v.role === 'deepjscc-matched' || v.role === 'deepjscc-fixed-snr'));
  const noKb = withRole(variants, 'akb-no-kb');
  const out: string[] = [];
  for (const channel of results.channels) {
    const ch = channelName(channel);
    for (const band of bandsOf(results.snrsDb, lowMax)) {
      for (const akb of akbs) {
        const a = curveOf(summary, akb.id, channel.id);
        if (![...a.keys()].some((s) => band.snrs.includes(s))) {
          out.push(`${band.name} on ${ch}, ${akb.label || akb.id} has no decoded images, so nothing could be compared.`);
          continue;
        }
        out.push(...variantFindings(`${band.name} on ${ch}`, akb, a, band.snrs, { fixed, adaptive, single, noKb, summary, digital: digitalCurve(results.digital, channel.id), channel: channel.id }));
      }
    }
  }
  return out;
}

interface Others {
  fixed: HilVariant[];
  adaptive: HilVariant[];
  single: HilVariant[];
  noKb: HilVariant[];
  summary: readonly HilSummaryRow[];
  digital: Curve;
  channel: string;
}

/** The sentences for one AKB variant in one channel and band. */
function variantFindings(where: string, akb: HilVariant, a: Curve, snrs: number[], o: Others): string[] {
  const curve = (v: HilVariant): Curve => curveOf(o.summary, v.id, o.channel);
  const parts: string[] = [];
  const missing: string[] = [];
  const fixedCompared: Compared[] = [];
  for (const f of o.fixed) {
    const c = compare(a, curve(f), snrs);
    const what = `Deep JSCC trained at ${f.trainedSnrDb === undefined ? 'one SNR' : `${fmt(f.trainedSnrDb, 0)} dB`}`;
    if (c) {
      fixedCompared.push(c);
      parts.push(`${describeGain(...span(c.gains))} ${what} (the paper's comparison)`);
    } else missing.push(`${what} (${f.id}: no PSNR here)`);
  }
  if (o.fixed.length === 0) missing.push('a Deep JSCC trained at one SNR (role deepjscc-fixed-snr)');
  const ad = o.adaptive[0];
  const ca = ad ? compare(a, curve(ad), snrs) : undefined;
  if (ca) parts.push(`${describeGain(...span(ca.gains))} the SNR-adaptive Deep JSCC`);
  else missing.push(ad ? `the SNR-adaptive Deep JSCC (${ad.id}: no PSNR here)` : 'the SNR-adaptive Deep JSCC (role deepjscc-adaptive)');
  const cb = o.single.length > 0 ? compare(a, bestOf(o.single.map(curve)), snrs) : undefined;
  if (cb) parts.push(`${describeGain(...span(cb.gains))} the best single-SNR Deep JSCC at each SNR (of ${o.single.map((v) => fmt(v.trainedSnrDb!, 0)).join(', ')} dB)`);
  else missing.push('an SNR-matched Deep JSCC (roles deepjscc-matched or deepjscc-fixed-snr with trainedSnrDb)');
  const twin = twinOf(akb, o.noKb);
  const ck = twin ? compare(a, curve(twin), snrs) : undefined;
  const kb = ck ? `its source KB is worth ${describeDb(...span(ck.diffsDb))} against the same network with the KB withheld` : undefined;
  if (!ck) {
    missing.push(
      twin ? `the same network with its KB withheld (${twin.id}: no PSNR here)` : `the same network with its KB withheld (role akb-no-kb with set ${akb.set}, precision ${akb.precision} and policy ${akb.policy})`,
    );
  }
  const cd = compare(a, o.digital, snrs);
  if (cd) parts.push(`${describeGain(...span(cd.gains))} the digital JPEG-at-capacity baseline`);
  const who = `${akb.label || akb.id} (${akb.policy})`;
  const note = unequalNote([...fixedCompared, ca, cb, ck]);
  const out: string[] = [];
  if (parts.length > 0) out.push(`${where}, ${who} is ${joinAnd(parts)}${kb ? `, and ${kb}` : ''}${note}.`);
  else if (kb) out.push(`${where}, for ${who} ${kb}${note}.`);
  if (missing.length > 0) out.push(`${where}, ${who} could not be compared with ${joinAnd(missing)}: the run has no such results.`);
  const verdict = note ? undefined : mismatchVerdict(who, o.fixed[0], fixedCompared[0], ca, cb, ck);
  if (verdict) out.push(`${where}: ${verdict}`);
  return out;
}

/** Where the gain over the fixed-SNR model comes from, when the results say so (equal channel uses only). */
function mismatchVerdict(who: string, f: HilVariant | undefined, fixed: Compared | undefined, adaptive: Compared | undefined, best: Compared | undefined, kb: Compared | undefined): string | undefined {
  if (!f || !fixed || Math.min(...fixed.gains) <= 0) return undefined;
  const fair = [adaptive, best].filter((c): c is Compared => c !== undefined);
  if (fair.length === 0 || Math.max(...fair.flatMap((c) => c.gains)) > 0) return undefined;
  const trained = f.trainedSnrDb === undefined ? 'one SNR' : `${fmt(f.trainedSnrDb, 0)} dB`;
  const kbPart = kb ? `, and its source KB is worth ${describeDb(...span(kb.diffsDb))}` : '';
  return `the gain of ${who} over the Deep JSCC trained at ${trained} is that model's SNR mismatch, not knowledge: against a Deep JSCC that knows the SNR (adaptive or trained at it) it is behind${kbPart}.`;
}

function channelName(c: HilChannel): string {
  return c.label && c.label !== c.id ? `${c.label}` : c.kind === 'awgn' ? 'AWGN' : c.kind === 'rayleigh' ? 'Rayleigh fading' : c.id;
}

function joinAnd(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]!}`;
}
